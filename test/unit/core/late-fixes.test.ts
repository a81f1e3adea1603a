import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { INITIAL_STATE, type DeviceState } from '../../../src/core/device-state.js';
import type { DerivedEvent } from '../../../src/core/event.js';
import type { Fix } from '../../../src/core/fix.js';
import { GeofenceIndex } from '../../../src/core/geometry/geofence-index.js';
import { emptyHistory, historyBase, recordMark, SNAPSHOT_EVERY, type DeviceHistory, type HistoryBase } from '../../../src/core/device-history.js';
import { rebuildHistory, takeFix, type FixOutcome } from '../../../src/core/late-fixes.js';
import { DEFAULT_RULES, type RuleConfig } from '../../../src/core/rule-config.js';
import { fence, fix, north, T0, type Row } from './timeline.js';

const BOX = (id: string, lat: number, lon: number, size: number, properties: Record<string, unknown> = {}) => fence(id, {
  type: 'Polygon', coordinates: [[[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]],
}, properties);

/** A device fed fixes one by one, as the engine feeds it; every event it emitted, in order. */
function device(index: GeofenceIndex, rules: RuleConfig, maxFixes = 10_000) {
  const history: DeviceHistory = emptyHistory();
  let state: DeviceState = INITIAL_STATE;
  const emitted: DerivedEvent[] = [];
  const outcomes: FixOutcome[] = [];
  return {
    history,
    take(f: Fix, receivedAt = f.ts) {
      const taken = takeFix(history, state, f, { index, rules, receivedAt }, maxFixes);
      state = taken.state;
      // A correction's new events say they are late; nothing else does.
      const corrected = taken.outcome === 'corrected';
      expect(taken.events.filter((e) => e.type !== 'event.retracted').every((e) => (e.late === true) === corrected)).toBe(true);
      emitted.push(...taken.events);
      outcomes.push(taken.outcome);
      return taken;
    },
    mark(patch: Partial<DeviceState>) {
      recordMark(history, state, patch);
      state = { ...state, ...patch };
    },
    get state() {
      return state;
    },
    emitted,
    outcomes,
  };
}

/** The events emitted less those retracted, as a sorted multiset of ids. */
function net(emitted: readonly DerivedEvent[]): string[] {
  const counts = new Map<string, number>();
  for (const event of emitted) {
    const id = event.type === 'event.retracted' ? (event.data.retracted_id as string) : event.id;
    counts.set(id, (counts.get(id) ?? 0) + (event.type === 'event.retracted' ? -1 : 1));
  }
  expect([...counts.values()].every((n) => n === 0 || n === 1), 'no event is net retracted more than it was emitted, nor emitted twice').toBe(true);
  return [...counts].filter(([, n]) => n === 1).map(([id]) => id).sort();
}

const withoutReceipt = (state: DeviceState) => ({ ...state, lastReceivedAt: null });

/** A drive through a grid of geofences: random steps of a few hundred metres, random gaps. */
const drive = fc.array(fc.record({
  gapS: fc.integer({ min: 1, max: 120 }),
  dNorth: fc.integer({ min: -400, max: 400 }),
  dEast: fc.integer({ min: -400, max: 400 }),
  speed: fc.integer({ min: 0, max: 130 }),
  ignition: fc.option(fc.boolean(), { nil: undefined }),
}), { minLength: 2, maxLength: 60 }).map((steps) => {
  let t = 0;
  let lat = 48.137;
  let lon = 11.575;
  return steps.map((s): Row => {
    t += s.gapS;
    lat += north(s.dNorth);
    lon += north(s.dEast) / Math.cos((lat * Math.PI) / 180);
    return { t, lat, lon, speed: s.speed, ignition: s.ignition };
  });
});

const fences = fc.array(fc.record({
  north: fc.integer({ min: -1500, max: 1500 }), east: fc.integer({ min: -1500, max: 1500 }), size: fc.integer({ min: 200, max: 1500 }),
  hysteresis: fc.constantFrom(0, 30), dwell: fc.constantFrom(null, 60, 300),
}), { minLength: 1, maxLength: 5 }).map((specs) => specs.map((g, i) =>
  BOX(`g${i}`, 48.137 + north(g.north), 11.575 + north(g.east) / 0.667, north(g.size), { hysteresis_m: g.hysteresis, ...(g.dwell === null ? {} : { dwell_s: g.dwell }) })));

const RULES: RuleConfig = { ...DEFAULT_RULES, overspeedLimitKmh: 90, overspeedMinDurationS: 30, idleMinDurationS: 120, tripLongStopS: 300, tripMinDistanceKm: 0.5, positionRecorded: true };

describe('late fixes, corrected', () => {
  it('nets the events of the sorted drive, with the same ids, whatever order the fixes arrive in (fast-check)', () => {
    const seen = { corrections: 0, retractions: 0, lateEvents: 0 };
    fc.assert(fc.property(drive, fences, fc.infiniteStream(fc.nat()), (rows, geofences, randoms) => {
      const index = new GeofenceIndex(geofences);
      const sorted = device(index, RULES);
      for (const row of rows) sorted.take(fix(row));
      // Any permutation: a shuffle driven by fast-check's numbers, so that it shrinks.
      const shuffled = rows.map(fix);
      for (let i = shuffled.length - 1; i > 0; i--) {
        const j = (randoms.next().value as number) % (i + 1);
        [shuffled[i], shuffled[j]] = [shuffled[j] as Fix, shuffled[i] as Fix];
      }
      const arrived = device(index, RULES);
      for (const f of shuffled) arrived.take(f);
      seen.corrections += arrived.outcomes.filter((o) => o === 'corrected').length;
      seen.retractions += arrived.emitted.filter((e) => e.type === 'event.retracted').length;
      seen.lateEvents += arrived.emitted.filter((e) => e.late === true).length;
      expect(net(arrived.emitted)).toEqual(net(sorted.emitted));
      expect(withoutReceipt(arrived.state)).toEqual(withoutReceipt(sorted.state));
    }), { numRuns: 300 });
    // The runs did exercise corrections, both ways: a property that held only on ordered input would prove nothing.
    expect(seen.corrections).toBeGreaterThan(1000);
    expect(seen.retractions).toBeGreaterThan(100);
    expect(seen.lateEvents).toBeGreaterThan(100);
  });

  it('emits what the late fix changes with late: true, retracts what it undoes, and leaves the rest alone', () => {
    const zone = BOX('depot', 48.137, 11.575, north(500));
    const index = new GeofenceIndex([zone]);
    const inside = { lat: 48.137 + north(250), lon: 11.575 + north(250) / 0.667 };
    const outside = { lat: 48.137 - north(1000), lon: 11.575 };
    const d = device(index, { ...DEFAULT_RULES });
    d.take(fix({ t: 0, ...outside }));
    const atDepot = d.take(fix({ t: 600, ...inside }));
    expect(atDepot.events.map((e) => e.type)).toEqual(['geofence.enter', 'geofence.change']);
    // The truck reached the depot at t=300 while offline: its buffered fix arrives now.
    const late = d.take(fix({ t: 300, ...inside }));
    expect(late.outcome).toBe('corrected');
    expect(late.replayed).toBe(2);
    const [retracted, retractedChange, entered, changed] = late.events;
    expect(retracted).toMatchObject({ type: 'event.retracted', data: { retracted_id: atDepot.events[0]?.id, retracted_type: 'geofence.enter', reason: 'late_fix' } });
    expect(retractedChange).toMatchObject({ type: 'event.retracted', data: { retracted_id: atDepot.events[1]?.id, retracted_type: 'geofence.change' } });
    expect(entered).toMatchObject({ type: 'geofence.enter', occurredAt: T0 + 300_000, late: true });
    expect(changed).toMatchObject({ type: 'geofence.change', occurredAt: T0 + 300_000, late: true, data: { from_geofence_id: null, to_geofence_id: 'depot' } });
    // The same fix again is a duplicate; one inside the window but earlier than it changes nothing.
    expect(d.take(fix({ t: 300, ...inside })).outcome).toBe('duplicate');
    expect(d.take(fix({ t: 100, ...outside })).events).toEqual([]);
  });

  it('leaves a fix older than the tenant\'s window, or than the history, out of the rules', () => {
    const index = new GeofenceIndex([BOX('depot', 48.137, 11.575, north(500))]);
    const d = device(index, { ...DEFAULT_RULES, lateFixWindowS: 60 });
    d.take(fix({ t: 0, lat: 48.0, lon: 11.0 }));
    d.take(fix({ t: 600, lat: 48.0, lon: 11.0 }));
    expect(d.take(fix({ t: 300, lat: 48.137 + north(100), lon: 11.576 })).outcome).toBe('too_late');
    // The window dropped the fix at 0, not the history: one inside the window is corrected.
    expect(d.take(fix({ t: 590, lat: 48.0, lon: 11.0 })).outcome).toBe('corrected');
    const off = device(index, { ...DEFAULT_RULES, lateFixWindowS: 0 });
    off.take(fix({ t: 600, lat: 48.0, lon: 11.0 }));
    expect(off.take(fix({ t: 599, lat: 48.0, lon: 11.0 })).outcome).toBe('too_late');
    // Capped at three fixes: the fourth newest is gone, and one older than it is too late.
    const capped = device(index, DEFAULT_RULES, 3);
    for (const t of [0, 10, 20, 30, 40]) capped.take(fix({ t, lat: 48.0, lon: 11.0 }));
    expect(capped.take(fix({ t: 5, lat: 48.0, lon: 11.0 })).outcome).toBe('too_late');
    expect(capped.take(fix({ t: 35, lat: 48.0, lon: 11.0 })).outcome).toBe('corrected');
  });

  it('corrects a tunnel\'s whole buffer, uploaded after the newest fix, with a history far shorter than it', () => {
    const index = new GeofenceIndex([BOX('tunnel-exit', 48.137, 11.575, north(300)), BOX('depot', 48.137 + north(1000), 11.575, north(300))]);
    const route = Array.from({ length: 60 }, (_, i): Row => ({ t: i * 10, lat: 48.137 + north(i * 25), lon: 11.575 + north(100) / 0.667, speed: 40 }));
    const sorted = device(index, RULES, 8);
    for (const row of route) sorted.take(fix(row));
    const arrived = device(index, RULES, 8);
    for (const row of route.slice(0, 20)) arrived.take(fix(row));
    // Into the tunnel at the 20th fix; out at the 59th, sent first, then the 39 it kept.
    arrived.take(fix(route[59] as Row));
    const buffered = route.slice(20, 59).map((row) => arrived.take(fix(row)));
    expect(buffered.every((taken) => taken.outcome === 'corrected')).toBe(true);
    expect(Math.max(...buffered.map((taken) => taken.replayed))).toBeLessThanOrEqual(SNAPSHOT_EVERY + 2);
    expect(net(arrived.emitted)).toEqual(net(sorted.emitted));
    expect(net(sorted.emitted).length).toBeGreaterThan(2);
  });

  it('replays a driver assignment or device.offline in its place among the fixes', () => {
    const d = device(new GeofenceIndex([]), DEFAULT_RULES);
    d.take(fix({ t: 0, lat: 48.0, lon: 11.0 }));
    d.take(fix({ t: 60, lat: 48.0, lon: 11.0 }));
    d.mark({ driverId: 'anna' });
    d.mark({ offlineSince: T0 + 700_000 });
    const late = d.take(fix({ t: 30, lat: 48.0, lon: 11.0 }));
    expect(late.outcome).toBe('corrected');
    expect(d.state).toMatchObject({ driverId: 'anna', offlineSince: T0 + 700_000 });
    const back = d.take(fix({ t: 900, lat: 48.0, lon: 11.0 }));
    expect(back.events.map((e) => e.type)).toContain('device.online');
  });

  it('rebuilds a history from its checkpointed base and the stored fixes that corrects a later fix as the original does (fast-check)', () => {
    fc.assert(fc.property(drive, fences, fc.integer({ min: 0, max: 59 }), (rows, geofences, lateOne) => {
      fc.pre(rows.length >= 4);
      const index = new GeofenceIndex(geofences);
      const late = rows[lateOne % rows.length] as Row;
      const rest = rows.filter((row) => row !== late);
      // A small cap, so that the base is often a trimmed history's and not the start.
      const original = device(index, RULES, 8);
      for (const row of rest) original.take(fix(row));
      original.mark({ driverId: 'anna' });
      const base = historyBase(original.history);
      if (base === null) return;
      const stored = rest.map(fix).filter((f) => f.ts >= base.from);
      const rebuilt = rebuildHistory(base, original.state, stored, { index, rules: RULES }, 8);
      expect(rebuilt).not.toBeNull();
      if (rebuilt === null) return;
      expect(withoutReceipt(rebuilt.state)).toEqual(withoutReceipt(original.state));
      const lateFix = fix(late);
      const fromOriginal = original.take(lateFix);
      const fromRebuilt = takeFix(rebuilt.history, rebuilt.state, lateFix, { index, rules: RULES, receivedAt: lateFix.ts }, 8);
      expect(fromRebuilt.outcome).toBe(fromOriginal.outcome);
      expect(fromRebuilt.events.map((e) => e.id)).toEqual(fromOriginal.events.map((e) => e.id));
    }), { numRuns: 200 });
  });

  it('leaves a fix that was too late out of a rebuilt history, as the original left it out', () => {
    const index = new GeofenceIndex([BOX('depot', 48.137, 11.575, north(500))]);
    const rules = { ...DEFAULT_RULES, lateFixWindowS: 60 };
    const original = device(index, rules);
    const rows: Row[] = [{ t: 0, lat: 48.0, lon: 11.0 }, { t: 600, lat: 48.0, lon: 11.0 }, { t: 300, lat: 48.137 + north(100), lon: 11.576 }];
    for (const row of rows) original.take(fix(row));
    expect(original.outcomes).toEqual(['in_order', 'in_order', 'too_late']);
    const base = historyBase(original.history) as HistoryBase;
    const stored = rows.map(fix).sort((a, b) => a.ts - b.ts);
    const rebuilt = rebuildHistory(base, original.state, stored, { index, rules }, 100);
    expect(rebuilt && withoutReceipt(rebuilt.state)).toEqual(withoutReceipt(original.state));
  });

  it('gives no history back when the stored fixes do not reach the checkpoint (retention deleted them)', () => {
    const index = new GeofenceIndex([]);
    const original = device(index, DEFAULT_RULES);
    for (const t of [0, 10, 20]) original.take(fix({ t, lat: 48.0, lon: 11.0 }));
    const base = historyBase(original.history);
    expect(base).not.toBeNull();
    expect(rebuildHistory(base as HistoryBase, original.state, [fix({ t: 0, lat: 48.0, lon: 11.0 })], { index, rules: DEFAULT_RULES }, 100)).toBeNull();
  });
});
