import { readFileSync } from 'node:fs';
import { geofenceFromFeature, isGeofenceError, type Geofence } from '../src/core/geometry/geofence.js';
import { type Random } from '../src/simulate/random.js';
import { FIXTURES, loadDrive } from '../test/support/recorded-drive.js';

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

/**
 * Street lines to build corridors from: the Munich drive at 1 Hz (a car on real streets) cut
 * into pieces of 25 distinct positions (a few hundred metres of street each), every piece as
 * offsets in degrees from its first position.
 */
function streetPieces(): [number, number][][] {
  const positions = loadDrive('munich-car-1hz.json').map((f) => [f.lon, f.lat] as [number, number])
    .filter((p, i, all) => i === 0 || p[0] !== all[i - 1]?.[0] || p[1] !== all[i - 1]?.[1]);
  const pieces: [number, number][][] = [];
  for (let start = 0; start + 25 <= positions.length; start += 25) {
    const piece = positions.slice(start, start + 25);
    const [lon0, lat0] = piece[0] as [number, number];
    pieces.push(piece.map(([lon, lat]) => [lon - lon0, lat - lat0]));
  }
  return pieces;
}

/**
 * `count` corridors `widthM` wide along real street lines (streetPieces), each moved to a random
 * place in `area`; ids follow on from `firstId`. Seeded.
 */
export function corridorFeatures(count: number, area: Area, widthM: number, random: Random, firstId = 0): object[] {
  const pieces = streetPieces();
  return Array.from({ length: count }, (_, i) => {
    const piece = pieces[Math.floor(random() * pieces.length)] as [number, number][];
    const lon0 = area.minLon + random() * (area.maxLon - area.minLon);
    const lat0 = area.minLat + random() * (area.maxLat - area.minLat);
    const line = piece.map(([dLon, dLat]) => [lon0 + dLon, lat0 + dLat]);
    return { type: 'Feature', properties: { id: `c${firstId + i}`, width_m: widthM }, geometry: { type: 'LineString', coordinates: line } };
  });
}

/** Points within about `metres` of the corridors' positions: where a corridor check has work to do. */
export function pointsNearLines(count: number, features: object[], metres: number, random: Random): Float64Array {
  const points = new Float64Array(count * 2);
  for (let i = 0; i < count; i++) {
    const line = (features[Math.floor(random() * features.length)] as { geometry: { coordinates: number[][] } }).geometry.coordinates;
    const [lon, lat] = line[Math.floor(random() * line.length)] as [number, number];
    points[i * 2] = lon + ((random() - 0.5) * 2 * metres) / (111_320 * Math.cos((lat * Math.PI) / 180));
    points[i * 2 + 1] = lat + ((random() - 0.5) * 2 * metres) / 111_320;
  }
  return points;
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
