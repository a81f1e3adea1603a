import { describe, expect, it } from 'vitest';
import { geofenceFromFeature, isGeofenceError } from '../../../src/core/geometry/geofence.js';
import { ringCrossing } from '../../../src/core/geometry/ring-crossing.js';
import { loadFeatureCollection } from '../../support/recorded-drive.js';

const square = [[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]];
const hole = [[0.2, 0.2], [0.2, 0.8], [0.8, 0.8], [0.8, 0.2], [0.2, 0.2]];

describe('geometry - self-intersecting polygons are refused', () => {
  it.each([
    ['a square', [square]],
    ['a square with a hole', [square, hole]],
    ['a hole touching the shell at one vertex', [square, [[0, 0.5], [0.5, 0.7], [0.5, 0.3], [0, 0.5]]]],
    ['a ring touching itself at one vertex', [[[0, 0], [2, 0], [1, 1], [2, 2], [0, 2], [1, 1], [0, 0]]]],
    ['a ring across the antimeridian', [[[179, -1], [181, -1], [181, 1], [179, 1], [179, -1]]]],
  ])('accepts %s', (_name, polygon) => {
    expect(ringCrossing(polygon)).toBeNull();
  });

  it.each([
    ['a bow-tie', [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]], /ring 0 edge 0 crosses ring 0 edge 2/],
    ['a hole crossing the shell', [square, [[0.5, 0.5], [1.5, 0.5], [1.5, 0.6], [0.5, 0.6], [0.5, 0.5]]], /ring 0 edge 1 crosses ring 1 edge 0/],
    ['a ring running back along its own edge', [[[0, 0], [4, 0], [4, 1], [3, 1], [3, 0], [1, 0], [1, 1], [0, 1], [0, 0]]], /ring 0 edge 0 crosses ring 0 edge 4/],
  ])('refuses %s, saying where', (_name, polygon, message) => {
    expect(ringCrossing(polygon)).toMatch(message);
  });

  it('refuses a bow-tie geofence on input with invalid_geofence, naming the polygon', () => {
    const feature = { type: 'Feature', properties: { id: 'bow' }, geometry: { type: 'MultiPolygon', coordinates: [[square], [[[5, 5], [6, 6], [6, 5], [5, 6], [5, 5]]]] } };
    const refused = geofenceFromFeature('acme', feature, 'x', true);
    expect(isGeofenceError(refused) && refused.message).toMatch(/^geometry.coordinates\[1\] is self-intersecting: ring 0 edge 0 crosses ring 0 edge 2/);
    // Geofences loaded from the store were checked when saved, and are not checked again.
    expect(isGeofenceError(geofenceFromFeature('acme', feature, 'x'))).toBe(false);
  });

  it('accepts every SF neighbourhood, and of the NYC boroughs refuses the one PostGIS calls invalid, at the same place', () => {
    const refusals = (file: string) => (loadFeatureCollection(file) as { features: unknown[] }).features
      .map((f) => geofenceFromFeature('acme', f, 'x', true)).filter(isGeofenceError).map((r) => r.message);
    expect(refusals('sf-neighborhoods.geojson')).toEqual([]);
    // ST_IsValidReason on the same feature: "Ring Self-intersection[-73.83728 40.78901]".
    const nyc = refusals('nyc-boroughs.geojson');
    expect(nyc).toHaveLength(1);
    expect(nyc[0]).toMatch(/self-intersecting: .* near \[-73\.83728, 40\.78901\]/);
  });
});
