import { describe, expect, it } from 'vitest';
import { sweepOffline } from '../../../src/core/offline-sweep.js';
import { RULES } from '../../../src/core/event-sources.js';
import type { Rule } from '../../../src/core/rule.js';
import { DEFAULT_RULES } from '../../../src/core/rule-config.js';
import { fence, run, T0, type Row } from './timeline.js';

// A device driving east along latitude 52 at the given speeds, one fix every 10 s.
const drive = (speeds: (number | null)[], extra: Partial<Row> = {}): Row[] =>
  speeds.map((speed, i) => ({ t: i * 10, lat: 52, lon: 13 + i * 0.001, speed, ...extra }));

describe('overspeed rule', () => {
  const rules = { overspeedLimitKmh: 80, overspeedToleranceKmh: 5, overspeedMinDurationS: 15 };

  it('starts after the minimum duration above limit + tolerance, ends at or under the limit', () => {
    const { events, all } = run(drive([70, 90, 95, 100, 88, 82, 79, 70]), [], rules);
    expect(events).toEqual([[30, 'overspeed.started'], [60, 'overspeed.ended']]);
    expect(all[0]?.data).toEqual({ speed: 100, limit: 80, limit_source: 'rule', lat: 52, lon: 13.003 });
    expect(all[1]?.data).toEqual({ max_speed: 100, limit: 80, duration_seconds: 50 });
  });

  it('ignores a spike shorter than the minimum duration and speeds within the tolerance', () => {
    expect(run(drive([70, 95, 70, 84, 85, 84, 70]), [], rules).events).toEqual([]);
  });

  it('uses the speed_limit of the geofence the device is in', () => {
    const zone = fence('school', { type: 'Polygon', coordinates: [[[12.9, 51.9], [13.1, 51.9], [13.1, 52.1], [12.9, 52.1], [12.9, 51.9]]] }, { speed_limit: 30 });
    const { all } = run(drive([20, 40, 45]), [zone], { ...rules, overspeedMinDurationS: 0 });
    expect(all.map((e) => e.type)).toEqual(['geofence.enter', 'overspeed.started']);
    expect(all[1]?.data).toMatchObject({ speed: 40, limit: 30, limit_source: 'geofence', geofence_id: 'school' });
  });

  it('is off by default outside speed-limited geofences', () => {
    expect(run(drive([150, 160, 170, 180])).events).toEqual([]);
  });
});

describe('idle rule', () => {
  const rules = { idleSpeedKmh: 3, idleMinDurationS: 60 };
  const at = (t: number, speed: number, ignition: boolean): Row => ({ t, lat: 52, lon: 13, speed, ignition });

  it('starts after the idle duration with the ignition on and ends when the device moves', () => {
    const { events, all } = run([at(0, 30, true), at(10, 0, true), at(40, 1, true), at(70, 0, true), at(100, 0, true), at(130, 25, true)], [], rules);
    expect(events).toEqual([[70, 'idle.started'], [130, 'idle.ended']]);
    expect(all[1]?.data).toEqual({ duration_seconds: 120 });
  });

  it('ends when the ignition goes off', () => {
    const { events } = run([at(0, 0, true), at(60, 0, true), at(90, 0, false)], [], rules);
    expect(events).toEqual([[60, 'idle.started'], [90, 'ignition.off'], [90, 'idle.ended']]);
  });

  it('never starts with the ignition off', () => {
    expect(run([at(0, 0, false), at(600, 0, false)], [], rules).events).toEqual([]);
  });
});

describe('ignition rule', () => {
  it('reports changes, not the first known value', () => {
    const rows: Row[] = [true, true, false, null, true].map((ignition, i) => ({ t: i, lat: 52, lon: 13, ...(ignition === null ? {} : { ignition }) }));
    expect(run(rows).events).toEqual([[2, 'ignition.off'], [4, 'ignition.on']]);
  });
});

describe('trip rule', () => {
  it('completes a trip on ignition off with distance, duration, top speed, start and end', () => {
    const rows: Row[] = [
      { t: 0, lat: 52, lon: 13, speed: 0, ignition: true },
      ...drive([30, 50, 60, 40], { ignition: true }).map((r) => ({ ...r, t: r.t + 10 })),
      { t: 50, lat: 52, lon: 13.004, speed: 0, ignition: false },
    ];
    const { all } = run(rows);
    const trip = all.find((e) => e.type === 'trip.completed');
    expect(trip?.occurredAt).toBe(T0 + 50_000);
    expect(trip?.data).toMatchObject({
      started_at: new Date(T0).toISOString(), ended_at: new Date(T0 + 50_000).toISOString(), duration_seconds: 50,
      max_speed: 60, start: { lat: 52, lon: 13 }, end: { lat: 52, lon: 13.004 },
    });
    // 0.004° of longitude at 52° N is about 274 m, the last stretch (to the ignition-off fix) included.
    expect((trip?.data.distance_km as number)).toBeCloseTo(0.274, 2);
  });

  it('ends a trip after a long stop with the ignition still on, at the last moving fix', () => {
    const rows: Row[] = [...drive([40, 40, 40, 40, 40]), { t: 60, lat: 52, lon: 13.005, speed: 0 }, { t: 1000, lat: 52, lon: 13.005, speed: 0 }];
    const { all } = run(rows, [], { tripLongStopS: 900 });
    const trip = all.find((e) => e.type === 'trip.completed');
    expect(trip?.data).toMatchObject({ ended_at: new Date(T0 + 40_000).toISOString(), end: { lat: 52, lon: 13.004 } });
  });

  it('derives speed from positions when fixes carry none, and drops trips under the minimum distance', () => {
    const moved = run([{ t: 0, lat: 52, lon: 13 }, { t: 10, lat: 52, lon: 13.002 }, { t: 20, lat: 52, lon: 13.004 }, { t: 2000, lat: 52, lon: 13.004 }]);
    expect(moved.events.map(([, type]) => type)).toEqual(['trip.completed']);
    const shuffle = run([{ t: 0, lat: 52, lon: 13, speed: 10 }, { t: 10, lat: 52, lon: 13.0005, speed: 10, ignition: false }]);
    expect(shuffle.events).toEqual([]);
  });
});

describe('offline and online', () => {
  it('goes offline after the timeout by the receiver clock, and online at the next fix', () => {
    const first = run([{ t: 0, lat: 52, lon: 13 }]);
    const early = sweepOffline('acme', 'veh-1', first.state, T0 + 599_000, DEFAULT_RULES);
    expect(early.events).toEqual([]);
    const swept = sweepOffline('acme', 'veh-1', first.state, T0 + 700_000, DEFAULT_RULES);
    expect(swept.events.map((e) => [e.type, e.occurredAt - T0, e.data])).toEqual([
      ['device.offline', 600_000, { last_seen_at: new Date(T0).toISOString() }],
    ]);
    expect(sweepOffline('acme', 'veh-1', swept.state, T0 + 900_000, DEFAULT_RULES).events).toEqual([]);
    const back = run([{ t: 1000, lat: 52, lon: 13 }], [], {}, swept.state);
    expect(back.all.map((e) => [e.type, e.data])).toEqual([['device.online', { offline_seconds: 1000 }]]);
  });
});

describe('rule pipeline', () => {
  it('gives the same event ids for the same fixes, and different ones for different fixes', () => {
    const rows = drive([0, 50, 0], { ignition: true });
    const zone = fence('z', { type: 'Point', coordinates: [13.001, 52] }, { radius_m: 30 });
    const a = run(rows, [zone]).all.map((e) => e.id);
    const b = run(rows, [zone]).all.map((e) => e.id);
    expect(a.length).toBeGreaterThan(0);
    expect(a).toEqual(b);
    expect(new Set(a).size).toBe(a.length);
    expect(a.every((id) => /^evt_[0-9a-f]{26}$/.test(id))).toBe(true);
  });

  it('isolates a throwing rule: the others still run and the fix still counts', () => {
    const broken: Rule = { name: 'broken', apply: () => { throw new Error('boom'); } };
    const rows: Row[] = [{ t: 0, lat: 52, lon: 13, ignition: true }, { t: 10, lat: 52, lon: 13, ignition: false }];
    const { events, state } = run(rows, [], {}, undefined, [broken, ...RULES]);
    expect(events).toEqual([[10, 'ignition.off']]);
    expect(state.lastFix?.ts).toBe(T0 + 10_000);
  });
});
