/**
 * Geofence lookup benchmark (issue 3): point checks per second against 10 000 and 100 000
 * geofences with real outlines, sparse (spread over Germany) and dense (overlapping in Berlin),
 * for fencewire's GeofenceIndex (R-tree, then prepared polygons with a latitude-band edge index)
 * and, in the same run, the naive baseline: the same R-tree, then @turf/boolean-point-in-polygon
 * on each candidate. One core (this process).
 *
 *   npx tsx bench/geofence.bench.ts
 */
import booleanPointInPolygon from '@turf/boolean-point-in-polygon';
import RBush from 'rbush';
import { GeofenceIndex } from '../src/core/geometry/geofence-index.js';
import { seededRandom } from '../src/simulate/random.js';
import { BERLIN, GERMANY, randomPoints, syntheticFeatures, toGeofences, type Area } from './geofence-fixtures.js';
import { formatRate, machineLine } from './machine.js';

interface Item {
  minX: number;
  minY: number;
  maxX: number;
  maxY: number;
  feature: { type: 'Feature'; properties: object; geometry: { type: 'Polygon'; coordinates: number[][][] } };
}

function naiveIndex(features: object[]): (lon: number, lat: number) => number {
  const tree = new RBush<Item>(16);
  tree.load(features.map((f) => {
    const feature = f as Item['feature'];
    const ring = feature.geometry.coordinates[0] as number[][];
    const lons = ring.map((p) => p[0] as number);
    const lats = ring.map((p) => p[1] as number);
    return { minX: Math.min(...lons), minY: Math.min(...lats), maxX: Math.max(...lons), maxY: Math.max(...lats), feature };
  }));
  return (lon, lat) => {
    let found = 0;
    for (const item of tree.search({ minX: lon, minY: lat, maxX: lon, maxY: lat })) {
      if (booleanPointInPolygon([lon, lat], item.feature)) found++;
    }
    return found;
  };
}

/** Checks per second over the points, after a warm-up pass over the first tenth. */
function measure(check: (lon: number, lat: number) => number, points: Float64Array): { perSecond: number; hits: number } {
  const n = points.length / 2;
  for (let i = 0; i < n / 10; i++) check(points[i * 2] as number, points[i * 2 + 1] as number);
  let hits = 0;
  const started = performance.now();
  for (let i = 0; i < n; i++) hits += check(points[i * 2] as number, points[i * 2 + 1] as number);
  return { perSecond: n / ((performance.now() - started) / 1000), hits };
}

function scenario(label: string, count: number, area: Area, sizeDeg: number, pointCount: number): void {
  const random = seededRandom(count + Math.round(sizeDeg * 1e6));
  const features = syntheticFeatures(count, area, sizeDeg, random);
  const points = randomPoints(pointCount, area, random);
  const index = new GeofenceIndex(toGeofences(features));
  const ours = measure((lon, lat) => index.containing(lon, lat).length, points);
  const naive = measure(naiveIndex(features), points);
  if (ours.hits !== naive.hits) throw new Error(`${label}: fencewire found ${ours.hits} matches, the baseline ${naive.hits}`);
  const avgMatches = (ours.hits / (points.length / 2)).toFixed(2);
  console.log(`${label.padEnd(34)} fencewire ${formatRate(ours.perSecond).padStart(12)}   rbush+turf ${formatRate(naive.perSecond).padStart(12)}   ratio ${(ours.perSecond / naive.perSecond).toFixed(1)}x   (${avgMatches} matches per point)`);
}

console.log(machineLine());
console.log('point checks per second, one core; targets: sparse >= 1,000,000/s, dense >= 5x the baseline');
scenario('sparse, 10 000 over Germany', 10_000, GERMANY, 0.02, 500_000);
scenario('sparse, 100 000 over Germany', 100_000, GERMANY, 0.02, 500_000);
scenario('dense, 10 000 overlapping in Berlin', 10_000, BERLIN, 0.006, 200_000);
scenario('dense, 100 000 overlapping in Berlin', 100_000, BERLIN, 0.006, 50_000);
