import { describe, expect, it } from 'vitest';
import { restartDelayMs } from '../../../src/cli/ingest-workers.js';

describe('ingest workers - restarts back off', () => {
  it('waits 1 s after a first death, doubling with each death in a row, up to a minute', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8, 50].map(restartDelayMs)).toEqual([1000, 2000, 4000, 8000, 16_000, 32_000, 60_000, 60_000, 60_000]);
  });
});
