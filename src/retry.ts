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

/** When to give up retrying: after `tries` failures, or at once for an error `retryable` refuses. */
export interface RetryLimits {
  readonly tries: number;
  readonly retryable: (err: Error) => boolean;
}

/** Retries for `waitMs` from now, however many tries that is (a dependency still starting). */
export function forMilliseconds(waitMs: number): RetryLimits {
  const deadline = Date.now() + waitMs;
  return { tries: Number.POSITIVE_INFINITY, retryable: () => Date.now() < deadline };
}

const UNLIMITED: RetryLimits = { tries: Number.POSITIVE_INFINITY, retryable: () => true };

export type RetryOutcome<T> = { readonly done: true; readonly value: T } | { readonly done: false; readonly error: Error };

/**
 * Runs `work` until it succeeds or `limits` says to give up, waiting `retryDelayMs` between
 * tries. `failed` hears of each failure that is retried, before the wait: to log it, or to tell
 * JetStream that the messages it depends on are still being worked on.
 */
export async function retryUpTo<T>(
  work: () => Promise<T>,
  failed: (err: Error, attempt: number, delayMs: number) => void,
  limits: RetryLimits = UNLIMITED,
): Promise<RetryOutcome<T>> {
  for (let attempt = 1; ; attempt++) {
    try {
      return { done: true, value: await work() };
    } catch (err) {
      const error = err as Error;
      if (attempt >= limits.tries || !limits.retryable(error)) return { done: false, error };
      const delayMs = retryDelayMs(attempt);
      failed(error, attempt, delayMs);
      await sleep(delayMs);
    }
  }
}

/** Runs `work` until it succeeds (`retryUpTo` without limits), for writes that must not be dropped. */
export async function retryUntilDone<T>(work: () => Promise<T>, failed: (err: Error, attempt: number, delayMs: number) => void): Promise<T> {
  // Without limits, only success ends the loop.
  return ((await retryUpTo(work, failed)) as { value: T }).value;
}
