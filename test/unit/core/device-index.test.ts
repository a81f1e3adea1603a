import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { boxesAround, DeviceIndex, geodesicMetres, unwrapBox, type LiveDevice } from '../../../src/core/geometry/device-index.js';
import { geofenceFromFeature, isGeofenceError } from '../../../src/core/geometry/geofence.js';

const device = (deviceId: string, lat: number, lon: number, ts = 1000, inside: Record<string, number> = {}): LiveDevice =>
  ({ deviceId, ts, lat, lon, speed: null, heading: null, ignition: null, inside, tags: [] });

const inBoxes = (lat: number, lon: number, boxes: ReturnType<typeof boxesAround>) =>
  boxes.some(([w, s, e, n]) => lon >= w && lon <= e && lat >= s && lat <= n);

const coordinate = fc.record({ lat: fc.double({ min: -89.9, max: 89.9, noNaN: true }), lon: fc.double({ min: -180, max: 180, noNaN: true }) });

describe('DeviceIndex - the live queries over each device\'s last position', () => {
  it('matches a brute-force sort of the fleet by geodesic distance for near and nearest (property)', () => {
    fc.assert(fc.property(
      fc.array(fc.record({ lat: fc.double({ min: 37.6, max: 37.9, noNaN: true }), lon: fc.double({ min: -122.6, max: -122.3, noNaN: true }) }), { minLength: 1, maxLength: 200 }),
      fc.record({ lat: fc.double({ min: 37.5, max: 38, noNaN: true }), lon: fc.double({ min: -122.7, max: -122.2, noNaN: true }) }),
      fc.integer({ min: 1, max: 30 }), fc.double({ min: 1, max: 30_000, noNaN: true }),
      (points, centre, k, radiusM) => {
        const index = new DeviceIndex();
        points.forEach((p, i) => index.put(device(`d${i}`, p.lat, p.lon)));
        const sorted = points.map((p, i) => ({ id: `d${i}`, m: geodesicMetres(centre.lat, centre.lon, p.lat, p.lon) }))
          .sort((a, b) => a.m - b.m || (a.id < b.id ? -1 : 1));
        expect(index.nearest(centre.lat, centre.lon, k).map((n) => n.device.deviceId)).toEqual(sorted.slice(0, k).map((s) => s.id));
        expect(index.near(centre.lat, centre.lon, radiusM).map((n) => n.device.deviceId)).toEqual(sorted.filter((s) => s.m <= radiusM).map((s) => s.id));
      },
    ), { numRuns: 200 });
  });

  it('draws boxes around a circle that hold every point within the radius, anywhere on Earth (property)', () => {
    fc.assert(fc.property(coordinate, fc.double({ min: 1, max: 3_000_000, noNaN: true }), fc.double({ min: 0, max: 360, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }),
      (centre, radiusM, azimuth, fraction) => {
        // A point at a given distance and azimuth, by walking the geodesic (the direct problem) in small steps of the inverse.
        const target = fraction * radiusM;
        const dLat = (target * Math.cos((azimuth * Math.PI) / 180)) / 111_320;
        const dLon = (target * Math.sin((azimuth * Math.PI) / 180)) / (111_320 * Math.max(0.01, Math.cos((centre.lat * Math.PI) / 180)));
        const lat = centre.lat + dLat;
        let lon = centre.lon + dLon;
        if (lat > 90 || lat < -90) return;
        lon = ((((lon + 180) % 360) + 360) % 360) - 180;
        if (geodesicMetres(centre.lat, centre.lon, lat, lon) > radiusM) return;
        expect(inBoxes(lat, lon, boxesAround(centre.lat, centre.lon, radiusM))).toBe(true);
      }), { numRuns: 2000 });
  });

  it('loads a fleet at once to the same answers as one put per device, the newest of a device listed twice winning (property)', () => {
    fc.assert(fc.property(
      fc.array(fc.record({ id: fc.integer({ min: 0, max: 40 }), lat: fc.double({ min: 37.6, max: 37.9, noNaN: true }), lon: fc.double({ min: -122.6, max: -122.3, noNaN: true }), ts: fc.integer({ min: 0, max: 100 }), inside: fc.boolean() }), { maxLength: 150 }),
      (rows) => {
        const devices = rows.map((r) => device(`d${r.id}`, r.lat, r.lon, r.ts, r.inside ? { yard: r.ts } : {}));
        const loaded = DeviceIndex.of(devices);
        const one = new DeviceIndex();
        for (const d of devices) one.put(d);
        expect(loaded.size).toBe(one.size);
        expect(loaded.inBox([-180, -90, 180, 90])).toEqual(one.inBox([-180, -90, 180, 90]));
        expect(loaded.near(37.75, -122.45, 10_000)).toEqual(one.near(37.75, -122.45, 10_000));
        expect(loaded.inside('yard')).toEqual(one.inside('yard'));
        // Later puts move devices in a loaded tree as in the other.
        for (const d of devices.slice(0, 10)) {
          loaded.put({ ...d, ts: d.ts + 1000, lat: d.lat + 0.01 });
          one.put({ ...d, ts: d.ts + 1000, lat: d.lat + 0.01 });
        }
        expect(loaded.nearest(37.7, -122.4, 5)).toEqual(one.nearest(37.7, -122.4, 5));
      },
    ), { numRuns: 200 });
  });

  it('finds the nearest across the antimeridian, and a box across it holds both sides', () => {
    const index = new DeviceIndex();
    index.put(device('east', -17.7, 179.99));
    index.put(device('west', -17.7, -179.99));
    index.put(device('far', -17.7, 178));
    const nearest = index.nearest(-17.7, 179.999, 2);
    expect(nearest.map((n) => n.device.deviceId)).toEqual(['east', 'west']);
    expect(index.near(-17.7, -179.999, 3000).map((n) => n.device.deviceId)).toEqual(['west', 'east']);
    expect(index.inBox([179, -18, -179, -17]).map((d) => d.deviceId)).toEqual(['east', 'west']);
    expect(unwrapBox([179, -18, -179, -17])).toEqual([[179, -18, 180, -17], [-180, -18, -179, -17]]);
  });

  it('keeps the newest position of a device and moves it between geofences\' occupants', () => {
    const index = new DeviceIndex();
    expect(index.put(device('car', 37.7, -122.4, 2000, { a: 1500 }))).toBe(true);
    expect(index.put(device('car', 37.0, -122.0, 1000, { b: 900 }))).toBe(false);
    expect(index.get('car')?.lat).toBe(37.7);
    expect(index.inside('a').map((o) => [o.device.deviceId, o.enteredAt])).toEqual([['car', 1500]]);
    // The same fix time with other geofences: a late fix corrected what the device is inside.
    expect(index.put(device('car', 37.7, -122.4, 2000, { b: 1800 }))).toBe(true);
    expect(index.occupancy('a')).toBe(0);
    expect(index.occupancy('b')).toBe(1);
    expect(index.size).toBe(1);
    expect(index.near(37.7, -122.4, 1)).toHaveLength(1);
    expect(index.near(37.0, -122.0, 1000)).toHaveLength(0);
  });

  it('answers within by the exact shape, not its box, and applies filters', () => {
    // A triangle: its box's north-east corner is outside it.
    const triangle = geofenceFromFeature('t', { type: 'Feature', properties: { id: 'tri' }, geometry: { type: 'Polygon', coordinates: [[[0, 0], [1, 0], [0, 1], [0, 0]]] } }, 'tri');
    if (isGeofenceError(triangle)) throw new Error(triangle.message);
    const index = new DeviceIndex();
    index.put(device('inside', 0.2, 0.2, 5000));
    index.put(device('corner', 0.9, 0.9));
    index.put(device('old', 0.1, 0.1, 10));
    expect(index.within(triangle.shape).map((d) => d.deviceId)).toEqual(['inside', 'old']);
    expect(index.within(triangle.shape, (d) => d.ts >= 1000).map((d) => d.deviceId)).toEqual(['inside']);
    expect(index.inBox([0, 0, 1, 1]).map((d) => d.deviceId)).toEqual(['corner', 'inside', 'old']);
  });

  it('nearest in an empty index, or with k = 0, is empty; with fewer devices than k, all of them', () => {
    const index = new DeviceIndex();
    expect(index.nearest(0, 0, 5)).toEqual([]);
    index.put(device('only', 60, 10));
    expect(index.nearest(0, 0, 0)).toEqual([]);
    expect(index.nearest(-60, -170, 5).map((n) => n.device.deviceId)).toEqual(['only']);
  });
});
