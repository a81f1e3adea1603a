import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Delay before retry `attempt` (1-based) of a failed write to the database or JetStream:
 * exponential from 100 ms, capped at 5 s so that work resumes within seconds of the dependency
 * coming back.
 */
export function retryDelayMs(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(5000, 100 * 2 ** (attempt - 1));
  // Up to 20% jitter so that several processors do not hammer a recovering database in step.
  return Math.round(base * (0.8 + 0.2 * random()));
}

/**
 * Runs `work` until it succeeds, waiting `retryDelayMs` between tries, for writes that must not
 * be dropped. `failed` hears of each failure before the wait: to log it, or to tell JetStream
 * that the messages it depends on are still being worked on.
 */
export async function retryUntilDone<T>(work: () => Promise<T>, failed: (err: Error, attempt: number, delayMs: number) => void): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (err) {
      const delayMs = retryDelayMs(attempt);
      failed(err as Error, attempt, delayMs);
      await sleep(delayMs);
    }
  }
}
