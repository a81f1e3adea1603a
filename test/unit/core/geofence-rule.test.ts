import { describe, expect, it } from 'vitest';
import { fence, north, run, T0 } from './timeline.js';

// A block 0.01° on a side (about 1.1 km north-south) south-west of (52, 13).
const block = (properties: Record<string, unknown> = {}) =>
  fence('block', { type: 'Polygon', coordinates: [[[13, 52], [13.01, 52], [13.01, 52.01], [13, 52.01], [13, 52]]] }, properties);
const EDGE = 52.01; // the northern edge

describe('geofence rule - enter, leave, dwell', () => {
  it('enters when a fix comes inside and leaves when one goes outside, with the dwell time', () => {
    const { events, all } = run([
      { t: 0, lat: 51.99, lon: 13.005 },
      { t: 10, lat: 52.005, lon: 13.005 },
      { t: 20, lat: 52.006, lon: 13.005 },
      { t: 70, lat: 52.02, lon: 13.005 },
    ], [block()]);
    expect(events).toEqual([[10, 'geofence.enter'], [70, 'geofence.leave']]);
    expect(all[0]?.data).toEqual({ geofence_id: 'block', geofence_name: 'block', lat: 52.005, lon: 13.005, speed: null });
    expect(all[1]?.data).toMatchObject({ geofence_id: 'block', dwell_seconds: 60 });
  });

  it('sends dwell once, when the device has stayed for dwell_s', () => {
    const { events, all } = run([
      { t: 0, lat: 52.005, lon: 13.005 },
      { t: 100, lat: 52.005, lon: 13.005 },
      { t: 300, lat: 52.005, lon: 13.0051 },
      { t: 400, lat: 52.005, lon: 13.0052 },
    ], [block({ dwell_s: 300 })]);
    expect(events).toEqual([[0, 'geofence.enter'], [300, 'geofence.dwell']]);
    expect(all[1]?.data).toMatchObject({ dwell_seconds: 300 });
  });

  it('counts a fix exactly on an edge, and on a vertex, as inside', () => {
    expect(run([{ t: 0, lat: 51.9, lon: 13.005 }, { t: 1, lat: EDGE, lon: 13.005 }], [block()]).events).toEqual([[1, 'geofence.enter']]);
    expect(run([{ t: 0, lat: 51.9, lon: 13.005 }, { t: 1, lat: 52, lon: 13.01 }], [block()]).events).toEqual([[1, 'geofence.enter']]);
  });
});

describe('geofence rule - GPS jitter on the boundary', () => {
  // A device parked on the northern edge: fixes wander 3-8 m either side of it.
  const jitter = [3, -5, 4, -8, 2, -3, 6, -4].map((m, i) => ({ t: 10 + i * 10, lat: EDGE + north(m), lon: 13.005 }));

  it('flaps without hysteresis, as a plain point-in-polygon would', () => {
    const { events } = run([{ t: 0, lat: 52.005, lon: 13.005 }, ...jitter], [block()]);
    expect(events.filter(([, type]) => type === 'geofence.leave').length).toBe(4);
  });

  it('does not flap with hysteresis_m, and leaves once the device is really gone', () => {
    const { events } = run([
      { t: 0, lat: 52.005, lon: 13.005 },
      ...jitter,
      { t: 100, lat: EDGE + north(15), lon: 13.005 },
      { t: 110, lat: EDGE + north(40), lon: 13.005 },
    ], [block({ hysteresis_m: 20 })]);
    expect(events).toEqual([[0, 'geofence.enter'], [110, 'geofence.leave']]);
  });

  it('takes the tenant\'s geofenceHysteresisM for fences without hysteresis_m, and a fence\'s own 0 over it', () => {
    const rows = [{ t: 0, lat: 52.005, lon: 13.005 }, ...jitter, { t: 110, lat: EDGE + north(40), lon: 13.005 }];
    expect(run(rows, [block()], { geofenceHysteresisM: 20 }).events).toEqual([[0, 'geofence.enter'], [110, 'geofence.leave']]);
    const own = run(rows, [block({ hysteresis_m: 0 })], { geofenceHysteresisM: 20 }).events;
    expect(own.filter(([, type]) => type === 'geofence.leave').length).toBe(5);
  });
});

describe('geofence rule - sparse fixes, late fixes, holes, the antimeridian', () => {
  it('reports a fence crossed between two fixes, with interpolated times', () => {
    const { events, all } = run([
      { t: 0, lat: 52.005, lon: 12.99 },
      { t: 40, lat: 52.005, lon: 13.02 },
    ], [block()]);
    expect(events).toEqual([[40, 'geofence.crossed']]);
    expect(all[0]?.data).toEqual({
      geofence_id: 'block', geofence_name: 'block',
      entered_at: new Date(T0 + 13_333).toISOString(), left_at: new Date(T0 + 26_667).toISOString(),
    });
  });

  it('ignores a fix older than the newest one: no state change, no event', () => {
    const { events, state } = run([
      { t: 0, lat: 51.99, lon: 13.005 },
      { t: 20, lat: 51.99, lon: 13.006 },
      { t: 10, lat: 52.005, lon: 13.005 }, // late upload from inside the fence
      { t: 20, lat: 52.005, lon: 13.005 }, // same time as the newest: a duplicate
    ], [block()]);
    expect(events).toEqual([]);
    expect(state.lastFix?.ts).toBe(T0 + 20_000);
    expect(state.inside).toEqual({});
  });

  it('leaves when entering a hole and enters again when coming out of it', () => {
    const donut = fence('donut', {
      type: 'Polygon',
      coordinates: [[[0, 0], [10, 0], [10, 10], [0, 10], [0, 0]], [[4, 4], [6, 4], [6, 6], [4, 6], [4, 4]]],
    });
    const { events } = run([
      { t: 0, lat: 5, lon: 2 },
      { t: 10, lat: 5, lon: 5 },
      { t: 20, lat: 5, lon: 8 },
    ], [donut]);
    expect(events).toEqual([[0, 'geofence.enter'], [10, 'geofence.leave'], [20, 'geofence.enter']]);
  });

  it('follows a ship across the antimeridian into a fence that spans it', () => {
    const pacific = fence('pacific', { type: 'Polygon', coordinates: [[[179, -1], [-179, -1], [-179, 1], [179, 1], [179, -1]]] });
    const { events } = run([
      { t: 0, lat: 0, lon: 178.5 },
      { t: 10, lat: 0, lon: 179.5 },
      { t: 20, lat: 0, lon: -179.5 },
      { t: 30, lat: 0, lon: -178.5 },
    ], [pacific]);
    expect(events).toEqual([[10, 'geofence.enter'], [30, 'geofence.leave']]);
  });

  it('forgets a fence deleted while the device was inside, without an event', () => {
    const first = run([{ t: 0, lat: 52.005, lon: 13.005 }], [block()]);
    const after = run([{ t: 10, lat: 52.005, lon: 13.005 }], [], {}, first.state);
    expect(after.events).toEqual([]);
    expect(after.state.inside).toEqual({});
  });
});
