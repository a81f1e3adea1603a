import { describe, expect, it } from 'vitest';
import { retryDelayMs } from '../../../src/ingest/retry.js';

describe('ingest retry - back-off of failed database writes', () => {
  it('doubles from 100 ms and stops growing at 5 s', () => {
    const noJitter = () => 1;
    expect([1, 2, 3, 4, 5, 6, 7, 8, 20].map((attempt) => retryDelayMs(attempt, noJitter))).toEqual([100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000]);
  });

  it('jitters down by at most 20%', () => {
    expect(retryDelayMs(3, () => 0)).toBe(320);
    expect(retryDelayMs(30, () => 0)).toBe(4000);
  });
});
