import { describe, expect, it } from 'vitest';
import { partitionDay, partitionName, planPartitions } from '../../../src/store/storage-policies.js';

const DAY = 24 * 60 * 60 * 1000;
const NOW = Date.parse('2026-11-22T15:30:00Z');
const policy = { retentionDays: 30, partitionAheadDays: 3, compressAfterDays: 7 };

describe('storage policy - daily partition plan', () => {
  it('names partitions by UTC day and reads the day back', () => {
    expect(partitionName(NOW)).toBe('positions_p20261122');
    expect(partitionDay('positions_p20261122')).toBe(Date.parse('2026-11-22T00:00:00Z'));
    expect(partitionDay('positions_default')).toBeNull();
  });

  it('creates yesterday through the look-ahead on an empty table', () => {
    const plan = planPartitions(['positions_default'], NOW, policy);
    expect(plan.create.map(partitionName)).toEqual([
      'positions_p20261121', 'positions_p20261122', 'positions_p20261123', 'positions_p20261124', 'positions_p20261125',
    ]);
    expect(plan.drop).toEqual([]);
  });

  it('creates only what is missing and drops days wholly past retention', () => {
    const existing = ['positions_p20261021', 'positions_p20261022', 'positions_p20261023', 'positions_p20261121', 'positions_p20261122', 'positions_default'];
    const plan = planPartitions(existing, NOW, policy);
    expect(plan.create.map(partitionName)).toEqual(['positions_p20261123', 'positions_p20261124', 'positions_p20261125']);
    // Cut-off is 2026-10-23 00:00: the 21st and 22nd end by then, the 23rd does not.
    expect(plan.drop).toEqual(['positions_p20261021', 'positions_p20261022']);
  });

  it('is idempotent: applying the plan leaves nothing to do', () => {
    const first = planPartitions([], NOW, policy);
    const second = planPartitions(first.create.map(partitionName), NOW + DAY / 4, policy);
    expect(second).toEqual({ create: [], drop: [] });
  });
});
