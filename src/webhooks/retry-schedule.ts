import type { Verdict } from '../core/delivery.js';
/** How a failed delivery is retried (contract section 5), from the configuration. */
export interface RetryPolicy {
  /** Attempts in all, the first included. */
  readonly maxAttempts: number;
  /** The wait after the first failure; each further failure multiplies it by `factor`. */
  readonly baseDelayMs: number;
  readonly factor: number;
  /** No wait is longer, whatever the back-off or a Retry-After asks for. */
  readonly maxDelayMs: number;
}

/**
 * The wait before the next attempt after `failedAttempt` failed: exponential back-off with
 * ±20% jitter (so that endpoints that failed together do not retry in lockstep), or the
 * receiver's `Retry-After` when it asks for longer. `random` is in [0, 1).
 */
export function nextAttemptDelayMs(policy: RetryPolicy, failedAttempt: number, retryAfterMs: number | null, random: number): number {
  const backoff = policy.baseDelayMs * policy.factor ** (failedAttempt - 1);
  const jittered = backoff * (0.8 + 0.4 * random);
  return Math.round(Math.min(policy.maxDelayMs, Math.max(jittered, retryAfterMs ?? 0)));
}

/** A `Retry-After` header (delay-seconds or an HTTP-date) as ms from `nowMs`; null when absent or unreadable. */
export function parseRetryAfter(header: string | undefined, nowMs: number): number | null {
  if (header === undefined) return null;
  const value = header.trim();
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, date - nowMs);
}

/** The answer of one attempt, as far as the verdict needs it. */
export interface AttemptAnswer {
  readonly statusCode: number | null;
  readonly retryAfter: string | undefined;
}

/** A 2xx succeeds; anything else is retried until the last attempt, which fails the delivery. */
export function verdictAfter(policy: RetryPolicy, attempt: number, answer: AttemptAnswer, nowMs: number, random: number): Verdict {
  if (answer.statusCode !== null && answer.statusCode >= 200 && answer.statusCode < 300) return { status: 'succeeded' };
  if (attempt >= policy.maxAttempts) return { status: 'failed' };
  const delay = nextAttemptDelayMs(policy, attempt, parseRetryAfter(answer.retryAfter, nowMs), random);
  return { status: 'pending', nextAttemptAt: new Date(nowMs + delay) };
}
