import { describe, expect, it } from 'vitest';
import { geofenceFromFeature } from '../../../src/core/geometry/geofence.js';
import { fence, run, T0, type Row } from './timeline.js';

// Nested zones (issue 21, item 4): the highest priority, then the smaller area, is the device's
// zone, whose speed limit applies; geofence.change when the zone changes; enter and leave of
// every zone still reported.
const box = (west: number, south: number, size: number) => ({
  type: 'Polygon', coordinates: [[[west, south], [west + size, south], [west + size, south + size], [west, south + size], [west, south]]],
});
const city = (properties: Record<string, unknown> = {}) => fence('city', box(13, 52, 0.1), { speed_limit: 50, ...properties });
const school = (properties: Record<string, unknown> = {}) => fence('school', box(13.04, 52.04, 0.01), { speed_limit: 30, ...properties });
/** West to east through the city and the school in it, at `speed`. */
const drive = (speed: number): Row[] => [12.99, 13.02, 13.045, 13.046, 13.07, 13.11].map((lon, i) => ({ t: i * 10, lat: 52.045, lon, speed }));
const changes = (zoneChanges: { occurredAt: number; data: Record<string, unknown> }[]) =>
  zoneChanges.map((e) => `${e.data.from_geofence_id ?? '-'}>${e.data.to_geofence_id ?? '-'}`);

describe('nested geofences - priority, the smaller area, geofence.change', () => {
  it('reports enter and leave of every zone, and geofence.change each time the device\'s zone changes', () => {
    const { events, zoneChanges } = run(drive(20), [city(), school()]);
    expect(events).toEqual([[10, 'geofence.enter'], [20, 'geofence.enter'], [40, 'geofence.leave'], [50, 'geofence.leave']]);
    expect(changes(zoneChanges)).toEqual(['->city', 'city>school', 'school>city', 'city>-']);
    expect(zoneChanges.map((e) => (e.occurredAt - T0) / 1000)).toEqual([10, 20, 40, 50]);
    expect(zoneChanges[1]?.data).toEqual({ from_geofence_id: 'city', from_geofence_name: 'city', to_geofence_id: 'school', to_geofence_name: 'school', lat: 52.045, lon: 13.045 });
  });

  it('a higher priority outranks a smaller area: the device in both stays in the city', () => {
    const { zoneChanges } = run(drive(20), [city({ priority: 1 }), school()]);
    expect(changes(zoneChanges)).toEqual(['->city', 'city>-']);
    const { zoneChanges: schoolFirst } = run(drive(20), [city({ priority: 1 }), school({ priority: 2 })]);
    expect(changes(schoolFirst)).toEqual(['->city', 'city>school', 'school>city', 'city>-']);
  });

  it('applies the speed limit of the zone, not the strictest: 40 km/h is over the school\'s 30 but not the city\'s 50 when the city ranks first', () => {
    const rules = { overspeedMinDurationS: 0 };
    const smaller = run(drive(40), [city(), school()], rules);
    expect(smaller.events.filter(([, type]) => type.startsWith('overspeed'))).toEqual([[20, 'overspeed.started'], [40, 'overspeed.ended']]);
    expect(smaller.all.find((e) => e.type === 'overspeed.started')?.data).toMatchObject({ limit: 30, geofence_id: 'school' });
    expect(run(drive(40), [city({ priority: 1 }), school()], rules).events.filter(([, type]) => type.startsWith('overspeed'))).toEqual([]);
    // The zone sets no limit: the next zone down that sets one applies.
    const quiet = run(drive(40), [city(), school({ speed_limit: null, priority: 3 })], rules);
    expect(quiet.events.filter(([, type]) => type.startsWith('overspeed'))).toEqual([]);
  });

  it('breaks a tie of priority and area by id, so that the zone is one whatever the order', () => {
    const a = fence('a', box(13.04, 52.04, 0.01));
    const b = fence('b', box(13.04, 52.04, 0.01));
    expect(changes(run(drive(20), [a, b]).zoneChanges)).toEqual(['->a', 'a>-']);
    expect(changes(run(drive(20), [b, a]).zoneChanges)).toEqual(['->a', 'a>-']);
  });

  it('refuses a priority that is not a whole number', () => {
    for (const priority of [1.5, '2', 2e6]) {
      expect(geofenceFromFeature('t', { type: 'Feature', properties: { priority }, geometry: box(0, 0, 1) }, 'x')).toMatchObject({ code: 'invalid_geofence', message: expect.stringMatching(/priority/) });
    }
  });
});
