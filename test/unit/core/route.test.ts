import { describe, expect, it } from 'vitest';
import { INITIAL_STATE, type DeviceState } from '../../../src/core/device-state.js';
import { routeChange } from '../../../src/core/rules/route.js';
import { fence, run, T0, type Row } from './timeline.js';

// Routes (issue 21, item 1): a device assigned a corridor gets route.deviated once it has been
// outside it for routeDeviationMinS, and route.rejoined when it is back.
const route = fence('r1', { type: 'LineString', coordinates: [[13, 52], [13, 52.1]] }, { width_m: 40 });
const square = fence('yard', { type: 'Polygon', coordinates: [[[13, 52], [13.01, 52], [13.01, 52.01], [13, 52.01], [13, 52]]] });
/** Metres east of the line at 52.05, in degrees of longitude. */
const east = (metres: number) => 13 + metres / (111_320 * Math.cos((52.05 * Math.PI) / 180));
const assigned = (routeId: string): DeviceState => ({ ...INITIAL_STATE, ...routeChange(INITIAL_STATE, routeId).state });
const routeEvents = (rows: Row[], rules = {}, state = assigned('r1')) => run(rows, [route, square], rules, state).all.filter((e) => e.type.startsWith('route.'));
/** [seconds after T0, type] of each route event. */
const timeline = (rows: Row[], rules = {}, state = assigned('r1')) => routeEvents(rows, rules, state).map((e) => [(e.occurredAt - T0) / 1000, e.type]);
const at = (t: number, metresEast: number): Row => ({ t, lat: 52.05, lon: east(metresEast) });

describe('routes - deviation from an assigned corridor', () => {
  it('derives route.deviated at the first fix 30 s after the first one off the route, and route.rejoined at the first back on it', () => {
    const events = routeEvents([at(0, 0), at(10, 50), at(20, 60), at(40, 80), at(60, 70), at(70, 15)]);
    expect(events.map((e) => [(e.occurredAt - T0) / 1000, e.type])).toEqual([[40, 'route.deviated'], [70, 'route.rejoined']]);
    expect(events[0]?.data).toMatchObject({ route_id: 'r1', route_name: 'r1', distance_m: expect.closeTo(80, 0), progress: expect.closeTo(0.5, 2), off_route_since: '2026-11-22T08:00:10.000Z' });
    expect(events[1]?.data).toMatchObject({ route_id: 'r1', distance_m: expect.closeTo(15, 0), deviated_seconds: 60 });
  });

  it('lets an excursion shorter than routeDeviationMinS pass, and counts from the first fix off again after one back on', () => {
    expect(timeline([at(0, 0), at(10, 50), at(29, 50), at(30, 0), at(50, 50), at(70, 50)])).toEqual([]);
    expect(timeline([at(0, 0), at(10, 50), at(30, 0), at(40, 50), at(69, 50), at(70, 50)])).toEqual([[70, 'route.deviated']]);
  });

  it('takes the tenant\'s routeDeviationMinS', () => {
    const rows = [at(0, 0), at(10, 50), at(40, 50), at(70, 50), at(80, 0)];
    expect(timeline(rows)).toEqual([[40, 'route.deviated'], [80, 'route.rejoined']]);
    expect(timeline(rows, { routeDeviationMinS: 60 })).toEqual([[70, 'route.deviated'], [80, 'route.rejoined']]);
  });

  it('derives nothing without a route, or for a route that is not a corridor, and a new route starts over', () => {
    const rows = [at(0, 0), at(10, 50), at(50, 50), at(60, 0)];
    expect(timeline(rows)).toEqual([[50, 'route.deviated'], [60, 'route.rejoined']]);
    expect(timeline(rows, {}, INITIAL_STATE)).toEqual([]);
    expect(timeline(rows, {}, assigned('yard'))).toEqual([]);
    expect(timeline(rows, {}, assigned('gone'))).toEqual([]);
    const deviated = run(rows.slice(0, 3), [route], {}, assigned('r1')).state;
    expect(deviated.route).toEqual({ routeId: 'r1', offSince: expect.any(Number), deviated: true });
    expect(routeChange(deviated, 'r1')).toEqual({ state: {}, events: [] });
    expect(routeChange(deviated, null).state).toEqual({ route: null });
    expect(routeChange(deviated, 'r2').state).toEqual({ route: { routeId: 'r2', offSince: null, deviated: false } });
  });

  it('is a geofence too: the corridor itself gets enter and leave', () => {
    const all = run([at(0, 100), at(10, 0), at(20, 100)], [route], {}, INITIAL_STATE).events;
    expect(all).toEqual([[10, 'geofence.enter'], [20, 'geofence.leave']]);
  });
});
