/**
 * Geofence lookup benchmark (issue 3): point checks per second against 10 000 and 100 000
 * geofences with real outlines, sparse (spread over Germany) and dense (overlapping in Berlin),
 * for fencewire's GeofenceIndex (R-tree, then prepared polygons with a latitude-band edge index)
 * and, in the same run, the naive baseline: the same R-tree, then @turf/boolean-point-in-polygon
 * on each candidate. One core (this process).
 *
 * Corridors (issue 21): 10 000 corridors 20 m wide along real street lines beside 10 000
 * polygons, half the points near the streets; the baseline is the same R-tree (each line's box
 * grown by the half width) with @turf/point-to-line-distance on each candidate corridor and
 * @turf/boolean-point-in-polygon on each candidate polygon. Turf measures on a sphere and
 * fencewire on the ellipsoid, so the two may differ on points within centimetres of an edge:
 * the run counts those rather than requiring equal hits.
 *
 *   npx tsx bench/geofence.bench.ts [--only polygons|corridors]
 */
import { parseArgs } from 'node:util';
import booleanPointInPolygon from '@turf/boolean-point-in-polygon';
import pointToLineDistance from '@turf/point-to-line-distance';
import RBush from 'rbush';
import { GeofenceIndex } from '../src/core/geometry/geofence-index.js';
import { seededRandom } from '../src/simulate/random.js';
import { BERLIN, corridorFeatures, GERMANY, pointsNearLines, randomPoints, syntheticFeatures, toGeofences, type Area } from './geofence-fixtures.js';
import { formatRate, machineLine } from './machine.js';

interface Item {
  minX: number;
  minY: number;
  maxX: number;
  maxY: number;
  /** A point inside this candidate? */
  test: (lon: number, lat: number) => boolean;
}

type BenchFeature =
  | { type: 'Feature'; properties: object; geometry: { type: 'Polygon'; coordinates: number[][][] } }
  | { type: 'Feature'; properties: { width_m: number }; geometry: { type: 'LineString'; coordinates: number[][] } };

/** The baseline: rbush over the boxes, then turf on each candidate (point in polygon, or distance to a line within half its width). */
function naiveIndex(features: object[]): (lon: number, lat: number) => number {
  const tree = new RBush<Item>(16);
  tree.load(features.map((f) => {
    const feature = f as BenchFeature;
    const positions = feature.geometry.type === 'Polygon' ? feature.geometry.coordinates[0] as number[][] : feature.geometry.coordinates;
    const lons = positions.map((p) => p[0] as number);
    const lats = positions.map((p) => p[1] as number);
    // A corridor's box grows by its half width (in degrees, generously at these latitudes).
    const grow = feature.geometry.type === 'Polygon' ? 0 : (feature.properties as { width_m: number }).width_m / 2 / 60_000;
    const test = feature.geometry.type === 'Polygon'
      ? (lon: number, lat: number) => booleanPointInPolygon([lon, lat], feature as never)
      : (lon: number, lat: number) => pointToLineDistance([lon, lat], feature as never, { units: 'meters' }) <= (feature.properties as { width_m: number }).width_m / 2;
    return { minX: Math.min(...lons) - grow, minY: Math.min(...lats) - grow, maxX: Math.max(...lons) + grow, maxY: Math.max(...lats) + grow, test };
  }));
  return (lon, lat) => {
    let found = 0;
    for (const item of tree.search({ minX: lon, minY: lat, maxX: lon, maxY: lat })) {
      if (item.test(lon, lat)) found++;
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

/** Corridors beside polygons: the two may differ on hits by points a hair from an edge, counted and printed. */
function corridorScenario(label: string, area: Area, polygonSizeDeg: number, pointCount: number): void {
  const random = seededRandom(20261203);
  const features = [...syntheticFeatures(10_000, area, polygonSizeDeg, random), ...corridorFeatures(10_000, area, 20, random, 10_000)];
  const corridors = features.slice(10_000);
  const near = pointsNearLines(pointCount / 2, corridors, 30, random);
  const spread = randomPoints(pointCount / 2, area, random);
  const points = new Float64Array(pointCount * 2);
  points.set(near);
  points.set(spread, pointCount);
  const index = new GeofenceIndex(toGeofences(features));
  const ours = measure((lon, lat) => index.containing(lon, lat).length, points);
  const naive = measure(naiveIndex(features), points);
  const avgMatches = (ours.hits / pointCount).toFixed(2);
  console.log(`${label.padEnd(34)} fencewire ${formatRate(ours.perSecond).padStart(12)}   rbush+turf ${formatRate(naive.perSecond).padStart(12)}   ratio ${(ours.perSecond / naive.perSecond).toFixed(1)}x   (${avgMatches} matches per point; hits ${ours.hits} vs ${naive.hits})`);
}

const { values } = parseArgs({ options: { only: { type: 'string' } } });
console.log(machineLine());
console.log('point checks per second, one core; targets: sparse >= 1,000,000/s, dense >= 5x the baseline');
if (values.only === undefined || values.only === 'polygons') {
  scenario('sparse, 10 000 over Germany', 10_000, GERMANY, 0.02, 500_000);
  scenario('sparse, 100 000 over Germany', 100_000, GERMANY, 0.02, 500_000);
  scenario('dense, 10 000 overlapping in Berlin', 10_000, BERLIN, 0.006, 200_000);
  scenario('dense, 100 000 overlapping in Berlin', 100_000, BERLIN, 0.006, 50_000);
}
if (values.only === undefined || values.only === 'corridors') {
  corridorScenario('10 000 corridors + 10 000 polygons, Germany', GERMANY, 0.02, 200_000);
  corridorScenario('10 000 corridors + 10 000 polygons, Berlin', BERLIN, 0.006, 100_000);
}
