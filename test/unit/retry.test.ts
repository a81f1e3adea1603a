import { describe, expect, it } from 'vitest';
import { retryDelayMs, retryUntilDone, retryUpTo } from '../../src/retry.js';

describe('retry - back-off of failed writes', () => {
  it('doubles from 100 ms and stops growing at 5 s', () => {
    const noJitter = () => 1;
    expect([1, 2, 3, 4, 5, 6, 7, 8, 20].map((attempt) => retryDelayMs(attempt, noJitter))).toEqual([100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000]);
  });

  it('jitters down by at most 20%', () => {
    expect(retryDelayMs(3, () => 0)).toBe(320);
    expect(retryDelayMs(30, () => 0)).toBe(4000);
  });

  it('runs the work until it succeeds, telling of each failure with its attempt and wait', async () => {
    const heard: [string, number, number][] = [];
    let calls = 0;
    const result = await retryUntilDone(async () => {
      calls++;
      if (calls < 3) throw new Error(`down ${calls}`);
      return 'written';
    }, (err, attempt, delayMs) => heard.push([err.message, attempt, delayMs]));
    expect(result).toBe('written');
    expect(heard.map(([message, attempt]) => [message, attempt])).toEqual([['down 1', 1], ['down 2', 2]]);
    expect(heard[0]?.[2]).toBeGreaterThanOrEqual(80);
    expect(heard[0]?.[2]).toBeLessThanOrEqual(100);
    expect(heard[1]?.[2]).toBeGreaterThanOrEqual(160);
    expect(heard[1]?.[2]).toBeLessThanOrEqual(200);
  });
});

describe('retry - limits', () => {
  it('gives up after the tries allowed, with the last error', async () => {
    let calls = 0;
    const outcome = await retryUpTo(async () => {
      calls++;
      throw new Error(`down ${calls}`);
    }, () => undefined, { tries: 3, retryable: () => true });
    expect(outcome).toEqual({ done: false, error: new Error('down 3') });
    expect(calls).toBe(3);
  });

  it('gives up at once on an error it may not retry', async () => {
    const heard: string[] = [];
    const outcome = await retryUpTo(async () => {
      throw new RangeError('too large');
    }, (err) => heard.push(err.message), { tries: 20, retryable: (err) => !(err instanceof RangeError) });
    expect(outcome.done).toBe(false);
    expect(heard).toEqual([]);
  });
});
