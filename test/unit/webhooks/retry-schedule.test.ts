import { describe, expect, it } from 'vitest';
import { nextAttemptDelayMs, parseRetryAfter, verdictAfter, type RetryPolicy } from '../../../src/webhooks/retry-schedule.js';

const policy: RetryPolicy = { maxAttempts: 4, baseDelayMs: 60_000, factor: 5, maxDelayMs: 3_600_000 };
const NOW = Date.parse('2026-11-22T08:00:00Z');

describe('webhooks - retry schedule', () => {
  it('backs off exponentially with ±20% jitter', () => {
    expect([1, 2, 3].map((n) => nextAttemptDelayMs(policy, n, null, 0.5))).toEqual([60_000, 300_000, 1_500_000]);
    expect(nextAttemptDelayMs(policy, 1, null, 0)).toBe(48_000);
    expect(nextAttemptDelayMs(policy, 1, null, 0.999_999)).toBe(72_000);
  });

  it('waits as long as Retry-After asks when that is longer, never past the cap', () => {
    expect(nextAttemptDelayMs(policy, 1, 120_000, 0.5)).toBe(120_000);
    expect(nextAttemptDelayMs(policy, 1, 1000, 0.5)).toBe(60_000);
    expect(nextAttemptDelayMs(policy, 3, 86_400_000, 0.5)).toBe(3_600_000);
    expect(nextAttemptDelayMs(policy, 9, null, 0.5)).toBe(3_600_000);
  });

  it('reads Retry-After as seconds or as an HTTP date', () => {
    expect(parseRetryAfter('30', NOW)).toBe(30_000);
    expect(parseRetryAfter(' 0 ', NOW)).toBe(0);
    expect(parseRetryAfter(new Date(NOW + 90_000).toUTCString(), NOW)).toBe(90_000);
    expect(parseRetryAfter(new Date(NOW - 90_000).toUTCString(), NOW)).toBe(0);
    expect(parseRetryAfter(undefined, NOW)).toBeNull();
    expect(parseRetryAfter('soon', NOW)).toBeNull();
  });

  it('timeline: fail, 429 with Retry-After, fail, fail -> failed after the 4th attempt; a 2xx succeeds at once', () => {
    const answers = [
      { statusCode: 500, retryAfter: undefined },
      { statusCode: 429, retryAfter: '600' },
      { statusCode: null, retryAfter: undefined },
      { statusCode: 503, retryAfter: undefined },
    ];
    const verdicts = answers.map((answer, i) => verdictAfter(policy, i + 1, answer, NOW, 0.5));
    expect(verdicts).toEqual([
      { status: 'pending', nextAttemptAt: new Date(NOW + 60_000) },
      { status: 'pending', nextAttemptAt: new Date(NOW + 600_000) },
      { status: 'pending', nextAttemptAt: new Date(NOW + 1_500_000) },
      { status: 'failed' },
    ]);
    expect(verdictAfter(policy, 1, { statusCode: 204, retryAfter: undefined }, NOW, 0.5)).toEqual({ status: 'succeeded' });
    expect(verdictAfter(policy, 1, { statusCode: 302, retryAfter: undefined }, NOW, 0.5).status).toBe('pending');
  });
});
