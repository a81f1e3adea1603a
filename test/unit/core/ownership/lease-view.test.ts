import { describe, expect, it } from 'vitest';
import { LeaseView } from '../../../../src/core/ownership/lease-view.js';
import { planLeases } from '../../../../src/core/ownership/lease-plan.js';

const LEASE = 2000;
const T0 = 1_000_000;

/** A view of 8 partitions that started watching at T0, fed a timeline of [ms after T0, key, value or null for a delete]. */
function viewAfter(timeline: [number, string, string | null][]): LeaseView {
  const view = new LeaseView(LEASE, 8, T0);
  for (const [at, key, value] of timeline) view.observe(key, value === null, value ?? '', T0 + at);
  return view;
}

describe('lease view - who is alive, who holds what, what nobody holds', () => {
  it('counts a processor while its heartbeat is fresher than the lease, and at least the caller', () => {
    const view = viewAfter([[0, 'processor.a', '1'], [0, 'processor.b', '1'], [1500, 'processor.a', '2']]);
    expect(view.live(T0 + 1900)).toBe(2);
    // b's heartbeat expired in the bucket without a word: it is no longer counted.
    expect(view.live(T0 + 2100)).toBe(1);
    expect(new LeaseView(LEASE, 8, T0).live(T0)).toBe(1);
  });

  it('says when a processor\'s heartbeat has been heard: a starting processor knows the watcher caught up to its own', () => {
    const view = viewAfter([[0, 'processor.b', '1']]);
    expect(view.heard('a')).toBe(false);
    view.observe('processor.a', false, '1', T0 + 5);
    expect(view.heard('a')).toBe(true);
  });

  it('forgets a processor that said goodbye at once', () => {
    expect(viewAfter([[0, 'processor.a', '1'], [0, 'processor.b', '1'], [100, 'processor.b', null]]).live(T0 + 200)).toBe(1);
  });

  it('knows a partition\'s holder while its lease is renewed, and none once it lapses or is released', () => {
    const view = viewAfter([[0, 'partition.3', 'a'], [400, 'partition.3', 'a'], [0, 'partition.4', 'b'], [300, 'partition.4', null]]);
    expect(view.holder(3, T0 + 2000)).toBe('a');
    expect(view.holder(3, T0 + 2400)).toBeNull();
    expect(view.holder(4, T0 + 400)).toBeNull();
  });

  it('calls stranded only what nobody has held for a whole lease: never-taken, released, or left by the dead', () => {
    const view = viewAfter([
      ...Array.from({ length: 6 }, (_, p) => [0, `partition.${p}`, 'a'] as [number, string, string]),
      [1800, 'partition.0', 'a'], [1800, 'partition.1', 'a'], [1800, 'partition.2', 'a'], // renewed by a
      [1000, 'partition.3', null], // released by a hand-over at 1000
      // 4 and 5 were never renewed: their holder died at 0. 6 and 7 were never taken.
    ]);
    expect(view.stranded(T0 + 1900)).toEqual([]);
    expect(view.stranded(T0 + 2000)).toEqual([6, 7]);
    expect(view.stranded(T0 + 3000)).toEqual([3, 6, 7]);
    expect(view.stranded(T0 + 4000)).toEqual([3, 4, 5, 6, 7]);
  });

  it('a lease that expires during a hand-over: the partition taken again within two leases by someone', () => {
    // a hands 5 over (deletes at 500); b is paused and never takes it; c counts a alive and is at its share.
    const view = viewAfter([[0, 'processor.a', '1'], [0, 'processor.c', '1'], [0, 'partition.5', 'a'], [500, 'partition.5', null], [1900, 'processor.a', '2'], [1900, 'processor.c', '2']]);
    const now = T0 + 2600;
    expect(planLeases(8, view.live(now), [0, 1, 2, 3]).want).toBe(0);
    expect(view.stranded(now)).toContain(5);
  });

  it('two processors joining at once each plan their share, and a third returning from a pause is counted only once it beats again', () => {
    const view = viewAfter([[0, 'processor.a', '1'], [10, 'processor.b', '1'], [0, 'processor.c', '0']]);
    expect(planLeases(8, view.live(T0 + 100), [])).toEqual({ want: 3, release: [] });
    // c paused for 3 s: not counted, so a and b plan for two.
    expect(planLeases(8, viewAfter([[2500, 'processor.a', '1'], [2500, 'processor.b', '1'], [0, 'processor.c', '0']]).live(T0 + 3000), [])).toEqual({ want: 4, release: [] });
    // c beats again: three, and whoever holds more than three hands over.
    const back = viewAfter([[2500, 'processor.a', '1'], [2500, 'processor.b', '1'], [3000, 'processor.c', '0']]);
    expect(planLeases(8, back.live(T0 + 3100), [0, 1, 2, 3])).toEqual({ want: 0, release: [3] });
  });
});
