/**
 * Live query benchmark (issue 20): GET /v1/devices?near (1 km), ?nearest (5) and ?within (a San
 * Francisco neighbourhood) against fleets of 10 000 and 100 000 devices spread over the Bay
 * Area, answered by fencewire's API over HTTP (key check, live index, JSON), next to PostGIS
 * answering the same queries in the same run over the same positions (geography and geometry
 * columns with GiST indexes, from a pg client in this process). Prints p50/p99 of each and the
 * ratio, and the index's own share of ours (the query without HTTP and the key check). The API's
 * floor is measured beside them: GET /v1/devices/{id} (key check and one row by primary key) and
 * the health route (no key, no database), over the same HTTP client in this process.
 *
 *   npx tsx bench/live-query.bench.ts [--queries 1000]
 */
import { parseArgs } from 'node:util';
import { importGeofences } from '../src/geofences/geofence-import.js';
import { DeviceIndex } from '../src/core/geometry/device-index.js';
import { geofenceFromFeature, isGeofenceError } from '../src/core/geometry/geofence.js';
import { startServer } from '../src/server.js';
import { between, seededRandom, type Random } from '../src/simulate/random.js';
import { createApiKey, keyStore } from '../src/store/key-store.js';
import { geofenceStore } from '../src/store/geofence-store.js';
import { loadFeatureCollection } from '../test/support/recorded-drive.js';
import { setup, silentLog, type TestEnv } from '../test/support/setup.js';
import { machineLine } from './machine.js';

const { values } = parseArgs({ options: { queries: { type: "string" }, sizes: { type: "string" } } });
const QUERIES = Number(values.queries ?? 1000);
const SIZES = (values.sizes ?? "10000,100000").split(",").map(Number);
/** The Bay Area: about 111 km by 88 km. */
const AREA = { minLat: 37.3, maxLat: 38.3, minLon: -122.8, maxLon: -121.8 };
/** Query centres: where the fleet is densest, San Francisco and around. */
const CENTRES = { minLat: 37.70, maxLat: 37.81, minLon: -122.51, maxLon: -122.38 };

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] as number;
}

async function timed(runs: number, query: (i: number) => Promise<unknown> | unknown): Promise<{ p50: number; p99: number }> {
  for (let i = 0; i < Math.min(100, runs); i++) await query(i);
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    await query(i);
    ms.push(performance.now() - started);
  }
  ms.sort((a, b) => a - b);
  return { p50: percentile(ms, 0.5), p99: percentile(ms, 0.99) };
}

async function storeFleet(world: TestEnv, tenant: string, size: number, random: Random): Promise<void> {
  const ids: string[] = [];
  const lats: number[] = [];
  const lons: number[] = [];
  for (let i = 0; i < size; i++) {
    ids.push(`v${i}`);
    lats.push(between(random, AREA.minLat, AREA.maxLat));
    lons.push(between(random, AREA.minLon, AREA.maxLon));
  }
  await world.db.query(`INSERT INTO devices (tenant_id, device_id, last_ts, lat, lon)
    SELECT $1, d, now() - interval '1 minute', lat, lon FROM unnest($2::text[], $3::float8[], $4::float8[]) AS u(d, lat, lon)`, [tenant, ids, lats, lons]);
  const table = `postgis_${tenant}`;
  await world.db.query(`CREATE TABLE ${table} AS SELECT device_id, ST_SetSRID(ST_MakePoint(lon, lat), 4326) AS p, ST_MakePoint(lon, lat)::geography AS g
    FROM devices WHERE tenant_id = $1`, [tenant]);
  await world.db.query(`CREATE INDEX ON ${table} USING gist (g)`);
  await world.db.query(`CREATE INDEX ON ${table} USING gist (p)`);
  await world.db.query(`ANALYZE ${table}`);
}

const line = (label: string, ours: { p50: number; p99: number }, postgis: { p50: number; p99: number }, index: { p50: number; p99: number }) =>
  `  ${label.padEnd(22)} fencewire p50 ${ours.p50.toFixed(2)} ms p99 ${ours.p99.toFixed(2)} ms (index alone p99 ${index.p99.toFixed(3)} ms) | PostGIS p50 ${postgis.p50.toFixed(2)} ms p99 ${postgis.p99.toFixed(2)} ms | PostGIS/index p99 ${(postgis.p99 / index.p99).toFixed(1)}x`;

async function main(): Promise<void> {
  console.log(machineLine());
  const world = await setup();
  await world.db.query('CREATE EXTENSION IF NOT EXISTS postgis');
  const neighbourhoods = loadFeatureCollection('sf-neighborhoods.geojson');
  const server = await startServer(world.config, silentLog, ['api']);
  try {
    for (const size of SIZES) {
      const tenant = `bench${size}`;
      const random = seededRandom(size);
      await storeFleet(world, tenant, size, random);
      const imported = await importGeofences(geofenceStore(world.db), tenant, neighbourhoods, { limits: world.config.quotas.geofences, geometry: null });
      if (imported.errors.length > 0) throw new Error(imported.errors.join('; '));
      const { key } = await createApiKey(keyStore(world.db), tenant);
      const get = async (path: string) => {
        const response = await fetch(`http://127.0.0.1:${server.httpPort}${path}`, { headers: { 'x-integration-key': key } });
        if (response.status !== 200) throw new Error(`${path}: ${response.status} ${await response.text()}`);
        return response.json();
      };
      const centres = Array.from({ length: QUERIES }, () => [between(random, CENTRES.minLat, CENTRES.maxLat), between(random, CENTRES.minLon, CENTRES.maxLon)] as const);
      // PostGIS's geofences as geometries, parsed once, as a PostGIS user would keep them.
      await world.db.query(`CREATE TABLE postgis_${tenant}_fences AS SELECT id, ST_SetSRID(ST_GeomFromGeoJSON(feature->'geometry'), 4326) AS geom FROM geofences WHERE tenant_id = $1`, [tenant]);
      await world.db.query(`CREATE INDEX ON postgis_${tenant}_fences (id)`);
      const fences = (await world.db.query<{ id: string }>(`SELECT id FROM geofences WHERE tenant_id = $1 ORDER BY id`, [tenant])).rows.map((r) => r.id);
      // The first query reads the tenant's devices into the index.
      const loadStarted = performance.now();
      await get('/v1/devices?nearest=37.77,-122.42&limit=1');
      const loadMs = performance.now() - loadStarted;

      // The index alone, on the same rows, for where the time goes.
      const index = new DeviceIndex();
      const { rows } = await world.db.query<{ device_id: string; lat: number; lon: number }>(`SELECT device_id, lat, lon FROM devices WHERE tenant_id = $1`, [tenant]);
      for (const r of rows) index.put({ deviceId: r.device_id, ts: 0, lat: r.lat, lon: r.lon, speed: null, heading: null, ignition: null, inside: {}, tags: [] });
      const stored = await geofenceStore(world.db).stored(tenant, fences);
      const shapes = fences.map((id) => {
        const g = geofenceFromFeature(tenant, stored.find((s) => s.id === id)?.feature, id);
        if (isGeofenceError(g)) throw new Error(g.message);
        return g.shape;
      });

      // The API's floor: the key check, one row by primary key, the answer.
      const floor = await timed(QUERIES, () => get('/v1/devices/v0'));
      const health = await timed(QUERIES, () => fetch(`http://127.0.0.1:${server.httpPort}/api/integration/health`).then((r) => r.json()));
      const at = (i: number) => centres[i % centres.length] as readonly [number, number];
      const table = `postgis_${tenant}`;
      console.log(`${size.toLocaleString('en-US')} devices (${QUERIES} queries each; first query read the tenant in ${loadMs.toFixed(0)} ms):`);
      console.log(`  API floor              GET /v1/devices/v0 p50 ${floor.p50.toFixed(2)} ms p99 ${floor.p99.toFixed(2)} ms; health (no key) p50 ${health.p50.toFixed(2)} ms p99 ${health.p99.toFixed(2)} ms`);
      let found = 0;
      const near = {
        ours: await timed(QUERIES, async (i) => void (found += ((await get(`/v1/devices?near=${at(i)[0]},${at(i)[1]}&radius_m=1000&limit=100`)) as { count: number }).count)),
        index: await timed(QUERIES, (i) => index.near(at(i)[0], at(i)[1], 1000)),
        postgis: await timed(QUERIES, (i) => world.db.query(`SELECT device_id, ST_Distance(g, ST_MakePoint($2, $1)::geography) AS d FROM ${table}
          WHERE ST_DWithin(g, ST_MakePoint($2, $1)::geography, 1000) ORDER BY d LIMIT 100`, [at(i)[0], at(i)[1]])),
      };
      console.log(line('near 1 km', near.ours, near.postgis, near.index) + ` | ${(found / QUERIES).toFixed(1)} devices per answer`);
      const nearest = {
        ours: await timed(QUERIES, (i) => get(`/v1/devices?nearest=${at(i)[0]},${at(i)[1]}&limit=5`)),
        index: await timed(QUERIES, (i) => index.nearest(at(i)[0], at(i)[1], 5)),
        postgis: await timed(QUERIES, (i) => world.db.query(`SELECT device_id, g <-> ST_MakePoint($2, $1)::geography AS d FROM ${table}
          ORDER BY g <-> ST_MakePoint($2, $1)::geography LIMIT 5`, [at(i)[0], at(i)[1]])),
      };
      console.log(line('nearest 5', nearest.ours, nearest.postgis, nearest.index));
      found = 0;
      const within = {
        ours: await timed(QUERIES, async (i) => void (found += ((await get(`/v1/devices?within=${encodeURIComponent(fences[i % fences.length] as string)}&limit=100`)) as { count: number }).count)),
        index: await timed(QUERIES, (i) => index.within(shapes[i % shapes.length] as (typeof shapes)[number])),
        postgis: await timed(QUERIES, (i) => world.db.query(`SELECT t.device_id FROM ${table} t JOIN ${table}_fences f ON f.id = $1
          WHERE ST_Covers(f.geom, t.p) ORDER BY t.device_id LIMIT 100`, [fences[i % fences.length]])),
      };
      console.log(line('within a neighbourhood', within.ours, within.postgis, within.index) + ` | ${(found / QUERIES).toFixed(1)} devices per answer`);
    }
  } finally {
    await server.stop();
    await world.dispose();
  }
}

await main();
