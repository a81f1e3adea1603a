import { readFileSync } from 'node:fs';
import { geofenceFromFeature, isGeofenceError, type Geofence } from '../src/core/geometry/geofence.js';
import { type Random } from '../src/simulate/random.js';
import { FIXTURES } from '../test/support/recorded-drive.js';

interface Ring {
  readonly points: [number, number][];
}

/** Real outlines to build synthetic geofences from: the SF neighbourhoods' outer rings. */
function templates(): Ring[] {
  const fc = JSON.parse(readFileSync(`${FIXTURES}sf-neighborhoods.geojson`, 'utf8')) as {
    features: { geometry: { type: string; coordinates: number[][][] | number[][][][] } }[];
  };
  return fc.features.map((f) => {
    const outer = (f.geometry.type === 'Polygon' ? f.geometry.coordinates[0] : f.geometry.coordinates[0]?.[0]) as number[][];
    // Normalise to a unit box around the origin, keeping the outline's shape and vertex count.
    const lons = outer.map((p) => p[0] as number);
    const lats = outer.map((p) => p[1] as number);
    const [cx, cy] = [(Math.min(...lons) + Math.max(...lons)) / 2, (Math.min(...lats) + Math.max(...lats)) / 2];
    const scale = Math.max(Math.max(...lons) - Math.min(...lons), Math.max(...lats) - Math.min(...lats)) / 2;
    return { points: outer.map((p) => [((p[0] as number) - cx) / scale, ((p[1] as number) - cy) / scale] as [number, number]) };
  });
}

export interface Area {
  readonly minLon: number;
  readonly minLat: number;
  readonly maxLon: number;
  readonly maxLat: number;
}

export const GERMANY: Area = { minLon: 6, minLat: 47.3, maxLon: 15, maxLat: 55 };
export const BERLIN: Area = { minLon: 13.2, minLat: 52.4, maxLon: 13.6, maxLat: 52.6 };

/**
 * `count` GeoJSON polygon features with real outlines, each `sizeDeg` across on average,
 * scattered over `area`. Seeded, so that every run measures the same geofences.
 */
export function syntheticFeatures(count: number, area: Area, sizeDeg: number, random: Random): object[] {
  const shapes = templates();
  return Array.from({ length: count }, (_, i) => {
    const shape = shapes[Math.floor(random() * shapes.length)] as Ring;
    const half = (sizeDeg / 2) * (0.5 + random());
    const cx = area.minLon + random() * (area.maxLon - area.minLon);
    const cy = area.minLat + random() * (area.maxLat - area.minLat);
    const ring = shape.points.map(([x, y]) => [cx + x * half * 1.6, cy + y * half]);
    return { type: 'Feature', properties: { id: `g${i}` }, geometry: { type: 'Polygon', coordinates: [ring] } };
  });
}

export function toGeofences(features: object[]): Geofence[] {
  return features.map((f, i) => {
    const g = geofenceFromFeature('bench', f, `g${i}`);
    if (isGeofenceError(g)) throw new Error(g.message);
    return g;
  });
}

export function randomPoints(count: number, area: Area, random: Random): Float64Array {
  const points = new Float64Array(count * 2);
  for (let i = 0; i < count; i++) {
    points[i * 2] = area.minLon + random() * (area.maxLon - area.minLon);
    points[i * 2 + 1] = area.minLat + random() * (area.maxLat - area.minLat);
  }
  return points;
}
