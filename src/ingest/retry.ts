/**
 * Delay before retry `attempt` (1-based) of a failed database write: exponential from 100 ms,
 * capped at 5 s so that ingest resumes within seconds of the database coming back.
 */
export function retryDelayMs(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(5000, 100 * 2 ** (attempt - 1));
  // Up to 20% jitter so that several processors do not hammer a recovering database in step.
  return Math.round(base * (0.8 + 0.2 * random()));
}
