import { describe, expect, it } from 'vitest';
import { geofenceFromFeature, isGeofenceError, type Geofence } from '../../../src/core/geometry/geofence.js';
import { GeofenceIndex } from '../../../src/core/geometry/geofence-index.js';

function fence(id: string, geometry: unknown, properties: Record<string, unknown> = {}): Geofence {
  const g = geofenceFromFeature('acme', { type: 'Feature', properties: { id, ...properties }, geometry }, 'x');
  if (isGeofenceError(g)) throw new Error(g.message);
  return g;
}

// A 10 x 10 square with a 2 x 2 hole in the middle.
const square = fence('square', {
  type: 'Polygon',
  coordinates: [
    [[0, 0], [10, 0], [10, 10], [0, 10], [0, 0]],
    [[4, 4], [6, 4], [6, 6], [4, 6], [4, 4]],
  ],
});

describe('geometry - point in polygon', () => {
  it.each([
    ['inside', 2, 2, true],
    ['outside', 11, 2, false],
    ['on an edge', 10, 5, true],
    ['on the bottom edge', 3, 0, true],
    ['on a vertex', 10, 10, true],
    ['on the first vertex', 0, 0, true],
    ['inside the hole', 5, 5, false],
    ['on the hole boundary', 4, 5, true],
    ['on a hole vertex', 6, 6, true],
    ['just outside, level with a vertex', -0.0001, 10, false],
  ])('%s (%d, %d) -> %s', (_what, lon, lat, expected) => {
    expect(square.shape.covers(lon, lat)).toBe(expected);
  });

  it('treats a point on a diagonal edge as inside', () => {
    const triangle = fence('tri', { type: 'Polygon', coordinates: [[[0, 0], [8, 8], [8, 0], [0, 0]]] });
    expect(triangle.shape.covers(4, 4)).toBe(true);
    expect(triangle.shape.covers(4, 4.0001)).toBe(false);
  });

  it('covers any polygon of a MultiPolygon', () => {
    const multi = fence('multi', { type: 'MultiPolygon', coordinates: [[[[0, 0], [1, 0], [1, 1], [0, 0]]], [[[5, 5], [6, 5], [6, 6], [5, 5]]]] });
    expect(multi.shape.covers(0.9, 0.5)).toBe(true);
    expect(multi.shape.covers(5.9, 5.5)).toBe(true);
    expect(multi.shape.covers(3, 3)).toBe(false);
  });

  it('handles a polygon across the antimeridian, written with a 180° jump', () => {
    const pacific = fence('pacific', { type: 'Polygon', coordinates: [[[170, -10], [-170, -10], [-170, 10], [170, 10], [170, -10]]] });
    expect(pacific.shape.covers(175, 0)).toBe(true);
    expect(pacific.shape.covers(-175, 0)).toBe(true);
    expect(pacific.shape.covers(180, 0)).toBe(true);
    expect(pacific.shape.covers(-180, 5)).toBe(true);
    expect(pacific.shape.covers(0, 0)).toBe(false);
    expect(pacific.shape.covers(165, 0)).toBe(false);
    expect(pacific.shape.covers(-165, 0)).toBe(false);
    const index = new GeofenceIndex([pacific]);
    expect(index.containing(-175, 0).map((g) => g.id)).toEqual(['pacific']);
    expect(index.containing(175, 0).map((g) => g.id)).toEqual(['pacific']);
  });

  it('handles circles from radius_m, boundary inclusive', () => {
    const depot = fence('depot', { type: 'Point', coordinates: [13.405, 52.52] }, { radius_m: 100 });
    expect(depot.shape.covers(13.405, 52.52)).toBe(true);
    expect(depot.shape.covers(13.405, 52.52 + 90 / 111_195)).toBe(true);
    expect(depot.shape.covers(13.405, 52.52 + 110 / 111_195)).toBe(false);
    expect(depot.shape.distanceToBoundary(13.405, 52.52 + 110 / 111_195)).toBeCloseTo(10, 0);
  });
});

describe('geometry - distance and crossings', () => {
  it('measures metres to the nearest boundary, holes included', () => {
    // 0.001° of latitude is about 111 m.
    const block = fence('block', { type: 'Polygon', coordinates: [[[13, 52], [13.01, 52], [13.01, 52.01], [13, 52.01], [13, 52]]] });
    expect(block.shape.distanceToBoundary(13.005, 52.011)).toBeCloseTo(111.3, 0);
    // From the hole's centre, 1° of longitude at latitude 5 to its nearest (vertical) edge.
    expect(square.shape.distanceToBoundary(5, 5)).toBeCloseTo(111_320 * Math.cos((5 * Math.PI) / 180), 0);
  });

  it('finds where a segment enters and leaves a fence that neither end is in', () => {
    const index = new GeofenceIndex([square]);
    const [crossing] = index.crossedBy(-5, 2, 15, 2);
    expect(crossing?.geofence.id).toBe('square');
    expect(crossing?.enteredAt).toBeCloseTo(0.25);
    expect(crossing?.leftAt).toBeCloseTo(0.75);
    expect(index.crossedBy(-5, 12, 15, 12)).toEqual([]);
  });

  it('finds a circle crossed between two fixes', () => {
    const circle = fence('c', { type: 'Point', coordinates: [0.5, 0.5] }, { radius_m: 1000 });
    const [crossing] = new GeofenceIndex([circle]).crossedBy(0.4, 0.5, 0.6, 0.5);
    expect(crossing?.enteredAt).toBeGreaterThan(0.4);
    expect(crossing?.leftAt).toBeLessThan(0.6);
  });
});

describe('geometry - GeoJSON validation', () => {
  it.each([
    [{ type: 'Feature', geometry: { type: 'LineString', coordinates: [[0, 0], [1, 1]] } }, /a LineString geofence \(a corridor\) needs properties.width_m/],
    [{ type: 'Feature', geometry: { type: 'GeometryCollection', geometries: [] } }, /GeometryCollection.*is not supported/],
    [{ type: 'Feature', geometry: { type: 'Polygon', coordinates: [[[0, 0], [1, 0], [1, 1], [0, 1]]] } }, /not closed/],
    [{ type: 'Feature', geometry: { type: 'Polygon', coordinates: [[[0, 0], [1, 0], [0, 0]]] } }, /at least 4 positions/],
    [{ type: 'Feature', geometry: { type: 'Polygon', coordinates: [[[0, 0], [1, 95], [1, 1], [0, 0]]] } }, /out of range/],
    [{ type: 'Feature', geometry: { type: 'Point', coordinates: [1, 1] } }, /radius_m/],
    [{ type: 'Feature', properties: { id: 'bad id' }, geometry: { type: 'Point', coordinates: [1, 1] } }, /properties.id/],
    [{ type: 'Feature', properties: { speed_limit: -5, radius_m: 5 }, geometry: { type: 'Point', coordinates: [1, 1] } }, /speed_limit/],
    [{ type: 'FeatureCollection', features: [] }, /must be a GeoJSON Feature/],
  ])('refuses %j', (feature, message) => {
    const result = geofenceFromFeature('acme', feature, 'generated');
    expect(isGeofenceError(result) && result.message).toMatch(message);
  });

  it('reads the properties of contract section 4 and generates an id when absent', () => {
    const g = fence('x', { type: 'Point', coordinates: [1, 1] }, { radius_m: 50, name: 'Depot', speed_limit: 30, tags: ['hq'], hysteresis_m: 25, dwell_s: 300 });
    expect(g).toMatchObject({ id: 'x', name: 'Depot', speedLimit: 30, tags: ['hq'], hysteresisM: 25, dwellS: 300 });
    const generated = geofenceFromFeature('acme', { type: 'Feature', geometry: { type: 'Point', coordinates: [1, 1] }, properties: { radius_m: 5 } }, 'gf_1');
    expect(!isGeofenceError(generated) && generated.id).toBe('gf_1');
  });
});
