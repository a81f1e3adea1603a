import { createRequire } from 'node:module';
import { feature as topoFeature } from 'topojson-client';
import type { Topology } from 'topojson-specification';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { geofenceFromFeature, isGeofenceError, type Geofence } from '../../src/core/geometry/geofence.js';
import { GeofenceIndex } from '../../src/core/geometry/geofence-index.js';
import { seededRandom } from '../../src/simulate/random.js';
import { adversarialShapes } from '../../bench/adversarial-shapes.js';
import { ringCrossing } from '../../src/core/geometry/ring-crossing.js';
import { PreparedPolygon } from '../../src/core/geometry/prepared-polygon.js';
import { loadFeatureCollection } from '../support/recorded-drive.js';
import { postgisWorld } from '../support/geofence-oracle.js';
import type { TestEnv } from '../support/setup.js';

interface Feature {
  readonly type: 'Feature';
  readonly properties: Record<string, unknown> | null;
  readonly geometry: { type: string; coordinates: number[][][] | number[][][][] };
}

const require = createRequire(import.meta.url);

function fromTopology(path: string, object: string): Feature[] {
  const topology = require(path) as Topology;
  const collection = topoFeature(topology, topology.objects[object] as never) as unknown as { features: Feature[] };
  return collection.features.filter((f) => f.geometry !== null && (f.geometry.type === 'Polygon' || f.geometry.type === 'MultiPolygon'));
}

/** The real polygons: neighbourhoods (holes), boroughs (27k-vertex multipolygons), countries (enclaves, the antimeridian), counties. */
const DATASETS: { name: string; features: Feature[]; pointsPerFeature: number }[] = [
  { name: 'sf', features: loadFeatureCollection('sf-neighborhoods.geojson').features as unknown as Feature[], pointsPerFeature: 150 },
  { name: 'nyc', features: loadFeatureCollection('nyc-boroughs.geojson').features as unknown as Feature[], pointsPerFeature: 400 },
  { name: 'world', features: fromTopology('world-atlas/countries-50m.json', 'countries'), pointsPerFeature: 30 },
  { name: 'us', features: fromTopology('us-atlas/counties-10m.json', 'counties'), pointsPerFeature: 3 },
];

function polygonsOf(f: Feature): number[][][][] {
  return f.geometry.type === 'Polygon' ? [f.geometry.coordinates as number[][][]] : (f.geometry.coordinates as number[][][][]);
}

/** True when a ring jumps across the antimeridian, which PostGIS reads as an edge across the map. */
function crossesAntimeridian(f: Feature): boolean {
  return polygonsOf(f).some((rings) => rings.some((ring) => ring.some((p, i) => i > 0 && Math.abs((p[0] as number) - (ring[i - 1]?.[0] as number)) > 180)));
}

let world: TestEnv;
let postgis = false;

/**
 * Features the comparison leaves out, because the two sides cannot mean the same by them:
 * polygons PostGIS finds invalid other than by a ring touching itself (a hole outside its
 * shell, overlapping parts: ST_Covers and an even-odd rule then differ by definition), and a
 * ring around a pole, which has no planar equivalent in PostGIS geometry.
 */
async function outsideThePlanarModel(features: Feature[]): Promise<Set<string>> {
  const result = await world.db.query<{ id: string }>(
    `SELECT f->>'id' AS id FROM jsonb_array_elements($1::jsonb) AS f
      WHERE ST_IsValidReason(CASE WHEN (f->>'wraps')::boolean THEN ST_ShiftLongitude(ST_GeomFromGeoJSON(f->'geometry'))
                                  ELSE ST_GeomFromGeoJSON(f->'geometry') END) NOT IN ('Valid Geometry')
        -- A ring that touches itself at a vertex (common in surveyed boundaries) means the same to both.
        AND ST_IsValidReason(CASE WHEN (f->>'wraps')::boolean THEN ST_ShiftLongitude(ST_GeomFromGeoJSON(f->'geometry'))
                                  ELSE ST_GeomFromGeoJSON(f->'geometry') END) NOT LIKE 'Ring Self-intersection%'`,
    [JSON.stringify(features.map((f, i) => ({ id: `f${i}`, wraps: crossesAntimeridian(f), geometry: f.geometry })))],
  );
  const skip = new Set(result.rows.map((r) => r.id));
  features.forEach((f, i) => {
    if (polygonsOf(f).flat(2).some((p) => Math.abs(p[1] as number) >= 89.999)) skip.add(`f${i}`);
  });
  return skip;
}

beforeAll(async () => {
  ({ world, postgis } = await postgisWorld());
});

afterAll(async () => {
  await world?.dispose();
});

describe('geometry oracle - point in polygon agrees with PostGIS ST_Covers on real geofences', () => {
  it.each(DATASETS)('$name: every sampled point and vertex', async ({ name, features, pointsPerFeature }) => {
    expect(postgis, 'PostGIS must be installed (scripts/services.sh --with-postgis)').toBe(true);
    const random = seededRandom(name.length * 7919);
    const geofences: Geofence[] = [];
    const points: [number, number][] = [];
    const skip = await outsideThePlanarModel(features);
    // A few at most: Antarctica is the only pole, and TopoJSON's quantisation leaves about one
    // county in a hundred with a sliver of self-intersection.
    expect(skip.size).toBeLessThan(Math.max(3, features.length / 50));
    features.forEach((f, i) => {
      if (skip.has(`f${i}`)) return;
      const g = geofenceFromFeature('oracle', { ...f, properties: { ...(f.properties ?? {}), id: `f${i}` } }, `f${i}`);
      if (isGeofenceError(g)) throw new Error(`${name} feature ${i}: ${g.message}`);
      geofences.push(g);
      const coords = polygonsOf(f).flat(1).flat(1);
      const lons = coords.map((p) => p[0] as number);
      const lats = coords.map((p) => p[1] as number);
      const [minLon, maxLon, minLat, maxLat] = [Math.min(...lons), Math.max(...lons), Math.min(...lats), Math.max(...lats)];
      for (let k = 0; k < pointsPerFeature; k++) points.push([minLon + random() * (maxLon - minLon), minLat + random() * (maxLat - minLat)]);
      // Vertices lie on the boundary, which both sides must count as covered.
      const step = Math.max(1, Math.floor(coords.length / 20));
      for (let k = 0; k < coords.length; k += step) points.push([coords[k]?.[0] as number, coords[k]?.[1] as number]);
    });

    await world.db.query('DROP TABLE IF EXISTS oracle_fences, oracle_points');
    await world.db.query('CREATE TABLE oracle_fences (id text, geom geometry)');
    // PostGIS is planar: a fence drawn across the antimeridian is compared in 0..360 longitudes.
    await world.db.query(
      `INSERT INTO oracle_fences
       SELECT id, CASE WHEN wraps THEN ST_ShiftLongitude(g) ELSE g END
         FROM (SELECT f->>'id' AS id, (f->>'wraps')::boolean AS wraps, ST_SetSRID(ST_GeomFromGeoJSON(f->'geometry'), 4326) AS g
                 FROM jsonb_array_elements($1::jsonb) AS f) s`,
      [JSON.stringify(features.map((f, i) => ({ id: `f${i}`, wraps: crossesAntimeridian(f), geometry: f.geometry })).filter((f) => !skip.has(f.id)))],
    );
    await world.db.query('CREATE INDEX ON oracle_fences USING gist (geom)');
    const wrapped = features.map((f, i) => (crossesAntimeridian(f) ? `f${i}` : null)).filter((id) => id !== null);
    const expected = await world.db.query<{ i: number; ids: string[] }>(
      `WITH p AS (SELECT i, ST_SetSRID(ST_MakePoint(lon, lat), 4326) AS pt FROM unnest($1::float8[], $2::float8[]) WITH ORDINALITY AS u(lon, lat, i))
       SELECT i, array_agg(id ORDER BY id) AS ids FROM (
         SELECT p.i, f.id FROM p JOIN oracle_fences f ON NOT (f.id = ANY($3::text[])) AND ST_Covers(f.geom, p.pt)
         UNION ALL
         SELECT p.i, f.id FROM p JOIN oracle_fences f ON f.id = ANY($3::text[]) AND ST_Covers(f.geom, ST_ShiftLongitude(p.pt))
       ) hits GROUP BY i`,
      [points.map((p) => p[0]), points.map((p) => p[1]), wrapped],
    );
    const oracle = new Map(expected.rows.map((r) => [Number(r.i) - 1, r.ids.join(',')]));

    const index = new GeofenceIndex(geofences);
    const disagreements: string[] = [];
    points.forEach(([lon, lat], i) => {
      const ours = index.containing(lon, lat).map((g) => g.id).sort().join(',');
      const theirs = oracle.get(i) ?? '';
      if (ours !== theirs) disagreements.push(`(${lon}, ${lat}): ours [${ours}] PostGIS [${theirs}]`);
    });
    expect(disagreements.slice(0, 10)).toEqual([]);
    expect(points.length).toBeGreaterThan(geofences.length * pointsPerFeature);
    // Sanity: the samples are not all outside, which would make agreement trivial.
    expect(oracle.size).toBeGreaterThan(points.length / 10);
  });
});

describe('geometry oracle - adversarial outlines are judged as PostGIS ST_IsValid judges them', () => {
  // Stars, combs and spirals of 10 000 and 30 000 vertices (PostGIS itself needs 40 s for a 100 000-vertex star), valid and with one crossing each.
  it.each(adversarialShapes([10_000, 30_000]).map((shape) => ({ ...shape, vertices: shape.ring.length })))('$name ($vertices vertices)', async ({ ring, valid }) => {
    expect(postgis, 'PostGIS must be installed (scripts/services.sh --with-postgis)').toBe(true);
    const result = await world.db.query<{ valid: boolean }>(
      `SELECT ST_IsValid(ST_GeomFromGeoJSON($1)) AS valid`, [JSON.stringify({ type: 'Polygon', coordinates: [ring] })],
    );
    expect(result.rows[0]?.valid).toBe(valid);
    expect(ringCrossing([ring]) === null).toBe(valid);
    if (valid) {
      // The prepared outline agrees with ST_Covers on a sample of points around it.
      const random = seededRandom(ring.length);
      const points = Array.from({ length: 300 }, () => [9.5 + random() * 1, 49.5 + random() * 1] as [number, number]);
      const covers = await world.db.query<{ covers: boolean }>(
        `SELECT ST_Covers(ST_GeomFromGeoJSON($1), ST_SetSRID(ST_Point((p->>0)::float8, (p->>1)::float8), 4326)) AS covers FROM jsonb_array_elements($2::jsonb) WITH ORDINALITY AS t(p, n) ORDER BY n`,
        [JSON.stringify({ type: 'Polygon', coordinates: [ring] }), JSON.stringify(points)],
      );
      const prepared = new PreparedPolygon([ring]);
      expect(points.map(([lon, lat]) => prepared.covers(lon, lat))).toEqual(covers.rows.map((r) => r.covers));
    }
  });
});
