import { describe, expect, it } from 'vitest';
import { singleFlight } from '../../src/single-flight.js';

describe('singleFlight', () => {
  it('answers calls during a run with that run, and runs again once it is over', async () => {
    let runs = 0;
    let finish: () => void = () => undefined;
    const round = singleFlight(() => new Promise<void>((resolve) => {
      runs++;
      finish = resolve;
    }));
    const first = round();
    expect(round()).toBe(first);
    expect(runs).toBe(1);
    finish();
    await first;
    void round();
    expect(runs).toBe(2);
    finish();
  });
});
