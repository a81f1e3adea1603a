import { describe, expect, it } from 'vitest';
import { fairShare, planLeases, preferredOrder } from '../../../../src/core/ownership/lease-plan.js';

describe('lease plan - processors share partitions evenly', () => {
  it('gives each an even share rounded up', () => {
    expect(fairShare(8, 3)).toBe(3);
    expect(fairShare(8, 2)).toBe(4);
    expect(fairShare(1, 2)).toBe(1);
    expect(fairShare(8, 0)).toBe(8);
  });

  it('a processor below its share wants more; one above hands over its highest partitions', () => {
    expect(planLeases(8, 2, [0, 1])).toEqual({ want: 2, release: [] });
    expect(planLeases(8, 3, [0, 1, 2, 3, 4, 5, 6, 7])).toEqual({ want: 0, release: [7, 6, 5, 4, 3] });
    expect(planLeases(8, 3, [5, 1, 3])).toEqual({ want: 0, release: [] });
  });

  it('with one partition, a second processor is a standby: it wants the partition, the holder keeps it', () => {
    expect(planLeases(1, 2, [])).toEqual({ want: 1, release: [] });
    expect(planLeases(1, 2, [0])).toEqual({ want: 0, release: [] });
  });

  it('tries every partition once, from an offset of its own', () => {
    const order = preferredOrder('host-1-abc', 8);
    expect([...order].sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(new Set(['a', 'b', 'c', 'd', 'e'].map((o) => preferredOrder(o, 8)[0])).size).toBeGreaterThan(1);
  });
});
