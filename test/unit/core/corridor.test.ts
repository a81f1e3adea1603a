import fc from 'fast-check';
import geodesicLib from 'geographiclib-geodesic';
import { describe, expect, it } from 'vitest';
import { CorridorShape } from '../../../src/core/geometry/corridor.js';
import { geofenceFromFeature, isGeofenceError } from '../../../src/core/geometry/geofence.js';
import { GeofenceIndex } from '../../../src/core/geometry/geofence-index.js';

const { Geodesic } = geodesicLib;

/** The position `metres` from (lat, lon) at `azimuth` degrees, on the WGS84 ellipsoid. */
function moved(lat: number, lon: number, azimuth: number, metres: number): [number, number] {
  const r = Geodesic.WGS84.Direct(lat, lon, azimuth, metres);
  return [r.lon2 as number, r.lat2 as number];
}

const corridor = (coordinates: unknown, width_m: unknown, type = 'LineString') =>
  geofenceFromFeature('t', { type: 'Feature', properties: { id: 'c', width_m }, geometry: { type, coordinates } }, 'c');

describe('a corridor (a LineString with width_m)', () => {
  it('covers the points within half its width of the line, measured on the ellipsoid, at any latitude and bearing', () => {
    for (const [lat, lon, bearing] of [[48.15, 11.56, 90], [37.77, -122.42, 33], [-33.9, 151.2, 170], [69.6, 18.9, 250], [0.5, 179.9995, 90]] as const) {
      const start: [number, number] = [lon, lat];
      const end = moved(lat, lon, bearing, 400);
      const shape = new CorridorShape([[start, end]], 20);
      const [midLon, midLat] = moved(lat, lon, bearing, 200);
      for (const side of [-90, 90]) {
        expect(shape.covers(...moved(midLat, midLon, bearing + side, 9.9))).toBe(true);
        expect(shape.covers(...moved(midLat, midLon, bearing + side, 10.1))).toBe(false);
      }
      // Beyond an end, the band ends in a half disc around it.
      const [endLon, endLat] = end;
      expect(shape.covers(...moved(endLat, endLon, bearing, 9.9))).toBe(true);
      expect(shape.covers(...moved(endLat, endLon, bearing + 45, 10.1))).toBe(false);
      expect(shape.nearest(...moved(midLat, midLon, bearing + 90, 35))).toEqual({ distanceM: expect.closeTo(35, 2), progress: expect.closeTo(0.5, 3) });
    }
  });

  it('answers across the antimeridian, where its line runs from 179.9995 to -179.9995', () => {
    const shape = new CorridorShape([[[179.9995, 10], [-179.9995, 10]]], 20);
    expect(shape.covers(180, 10)).toBe(true);
    expect(shape.covers(-180, 10.00005)).toBe(true);
    expect(shape.covers(0, 10)).toBe(false);
    const index = new GeofenceIndex([corridor([[179.9995, 10], [-179.9995, 10]], 20) as never]);
    expect(index.containing(-179.9999, 10).map((g) => g.id)).toEqual(['c']);
    expect(index.containing(179.9999, 10).map((g) => g.id)).toEqual(['c']);
  });

  it('gives progress as the fraction of the whole line (all its parts) before the nearest point', () => {
    const a: [number, number] = [11.5, 48.1];
    const b = moved(48.1, 11.5, 0, 1000);
    const c = moved(b[1], b[0], 90, 3000);
    const shape = new CorridorShape([[a, b, c]], 10);
    expect(shape.nearest(...moved(b[1], b[0], 90, 1500)).progress).toBeCloseTo(2500 / 4000, 3);
    expect(shape.nearest(...moved(48.1, 11.5, 180, 50)).progress).toBe(0);
    const multi = new CorridorShape([[a, b], [b, c]], 10);
    expect(multi.nearest(...moved(48.1, 11.5, 0, 500)).progress).toBeCloseTo(500 / 4000, 3);
  });

  it('decides on the sphere only far from the edge: near it, the answer is the ellipsoid distance', () => {
    const shape = new CorridorShape([[[-122.45, 37.75], [-122.40, 37.79], [-122.38, 37.78]]], 30);
    fc.assert(fc.property(fc.double({ min: -122.46, max: -122.37, noNaN: true }), fc.double({ min: 37.74, max: 37.80, noNaN: true }), (lon, lat) => {
      expect(shape.covers(lon, lat)).toBe(shape.nearest(lon, lat).distanceM <= 15);
    }), { numRuns: 3000 });
  });

  it('finds where a straight segment between fixes enters and leaves it (crossings between sparse fixes)', () => {
    const shape = new CorridorShape([[[11.5, 48.1], [11.5, 48.2]]], 100);
    // From 500 m west to 500 m east of the line: inside for the middle 100 m.
    const [westLon] = moved(48.15, 11.5, 270, 500);
    const [eastLon] = moved(48.15, 11.5, 90, 500);
    const [enteredAt, leftAt] = shape.crossings(westLon, 48.15, eastLon, 48.15);
    expect(enteredAt).toBeCloseTo(0.45, 2);
    expect(leftAt).toBeCloseTo(0.55, 2);
    expect(shape.crossings(westLon, 48.25, eastLon, 48.25)).toEqual([]);
    // Past the line's end, through its round cap only.
    expect(shape.crossings(westLon, 48.2003, eastLon, 48.2003)).toHaveLength(2);
  });

  it('is a geofence like any other: enter and leave through the index, ranked by length times width', () => {
    const g = corridor([[11.5, 48.1], [11.5, 48.2]], 20);
    if (isGeofenceError(g)) throw new Error(g.message);
    expect(g.areaM2).toBeCloseTo(11_120 * 20, -4);
    const index = new GeofenceIndex([g]);
    expect(index.containing(11.5, 48.15)).toEqual([g]);
    expect(index.containing(11.501, 48.15)).toEqual([]);
    expect(index.crossedBy(11.49, 48.15, 11.51, 48.15).map((c) => c.geofence.id)).toEqual(['c']);
  });

  it('refuses a line without a width, a line of one position and a non-numeric position, each saying which', () => {
    expect(corridor([[11.5, 48.1], [11.5, 48.2]], undefined)).toMatchObject({ code: 'invalid_geofence', message: expect.stringContaining('properties.width_m') });
    expect(corridor([[11.5, 48.1], [11.5, 48.2]], 0)).toMatchObject({ message: expect.stringContaining('above 0') });
    expect(corridor([[11.5, 48.1]], 10)).toMatchObject({ message: 'geometry.coordinates must be a line of at least 2 positions' });
    expect(corridor([[[11.5, 48.1], [11.5, 48.2]], [[11.5, 'x'], [1, 2]]], 10, 'MultiLineString')).toMatchObject({ message: expect.stringContaining('geometry.coordinates[1][0]') });
  });
});
