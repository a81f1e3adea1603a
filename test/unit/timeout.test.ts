import { describe, expect, it } from 'vitest';
import { orAfter } from '../../src/timeout.js';

describe('orAfter', () => {
  it('answers with the work when it settles in time, and with the fallback when it does not', async () => {
    expect(await orAfter(Promise.resolve('done'), 1000, 'late')).toBe('done');
    expect(await orAfter(new Promise<string>(() => undefined), 10, 'late')).toBe('late');
  });

  it('passes on a rejection that comes in time', async () => {
    await expect(orAfter(Promise.reject(new Error('refused')), 1000, 'late')).rejects.toThrow('refused');
  });
});
