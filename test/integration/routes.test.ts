import { pack } from 'msgpackr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { notifyGeofencesChanged } from '../../src/bus/geofence-changes.js';
import { importGeofences } from '../../src/geofences/geofence-import.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { geofenceStore } from '../../src/store/geofence-store.js';
import { createApiKey, keyStore } from '../../src/store/key-store.js';
import { postgisWorld } from '../support/geofence-oracle.js';
import { loadDrive } from '../support/recorded-drive.js';
import { countPositions, countUnpublished, silentLog, waitFor, type TestEnv } from '../support/setup.js';

// Routes end to end (issue 21, item 1): the real Munich drive at 1 Hz against a route drawn
// from its own 15 s recording, with one stretch of the drive cut short by a straight line (so
// that the car leaves the route for minutes, twice, and comes back), 30 m wide. Every
// route.deviated and route.rejoined is checked against a gaps-and-islands query over the stored
// positions and PostGIS's ST_DWithin, and each event's progress against ST_LineLocatePoint.
const sparse = loadDrive('munich-car-15s.json');
const recorded = loadDrive('munich-car-1hz.json');
const START = Math.floor(Date.now() / 1000) * 1000 - 2 * 3600_000;
const drive = recorded.map((f) => ({ ...f, ts: f.ts - (recorded[0]?.ts as number) + START }));
const line = [...sparse.slice(0, 51), ...sparse.slice(65)].map((f) => [f.lon, f.lat]);
const WIDTH_M = 30;

let world: TestEnv;
let postgis = false;
let server: RunningServer;
let key: string;

const api = (method: string, path: string, body?: unknown) => fetch(`http://127.0.0.1:${server.httpPort}${path}`, {
  method, headers: { 'x-integration-key': key, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, body: body === undefined ? undefined : JSON.stringify(body),
});

beforeAll(async () => {
  ({ world, postgis } = await postgisWorld());
  const features = [
    { type: 'Feature', properties: { id: 'school-run', name: 'School run', width_m: WIDTH_M }, geometry: { type: 'LineString', coordinates: line } },
    { type: 'Feature', properties: { id: 'depot', radius_m: 50 }, geometry: { type: 'Point', coordinates: line[0] } },
  ];
  expect((await importGeofences(geofenceStore(world.db), 'acme', { type: 'FeatureCollection', features }, { limits: world.config.quotas.geofences, geometry: null })).errors).toEqual([]);
  await notifyGeofencesChanged(world.nc, world.topology, 'acme');
  server = await startServer(world.config, silentLog);
  ({ key } = await createApiKey(keyStore(world.db), 'acme'));
}, 60_000);

afterAll(async () => {
  await server?.stop();
  await world?.dispose();
});

/** route.deviated and route.rejoined as the stored positions and PostGIS give them: islands of fixes off the route. */
async function oracleEpisodes(): Promise<string[]> {
  const { rows } = await world.db.query<{ type: string; at: Date }>(`
    WITH route AS (SELECT ST_GeomFromGeoJSON($1)::geography AS g),
    fixes AS (SELECT p.ts, NOT ST_DWithin(route.g, ST_SetSRID(ST_MakePoint(p.lon, p.lat), 4326)::geography, $2) AS off
                FROM positions p, route WHERE p.tenant_id = 'acme' AND p.device_id = 'car-1'),
    -- Each fix on the route starts a new group: the fixes off it after one share its group.
    grouped AS (SELECT ts, off, count(*) FILTER (WHERE NOT off) OVER (ORDER BY ts) AS grp FROM fixes),
    islands AS (SELECT grp, min(ts) AS since FROM grouped WHERE off GROUP BY grp),
    deviated AS (SELECT i.grp, min(g.ts) AS at FROM islands i JOIN grouped g ON g.grp = i.grp AND g.off AND g.ts >= i.since + interval '1 second' * $3 GROUP BY i.grp),
    rejoined AS (SELECT d.grp, min(g.ts) AS at FROM deviated d JOIN grouped g ON g.grp = d.grp + 1 AND NOT g.off GROUP BY d.grp)
    SELECT 'route.deviated' AS type, at FROM deviated UNION ALL SELECT 'route.rejoined', at FROM rejoined ORDER BY at`,
  [JSON.stringify({ type: 'LineString', coordinates: line }), WIDTH_M / 2, 30]);
  return rows.map((r) => `${r.at.toISOString()} ${r.type}`);
}

describe('routes end to end - a drive that leaves its route and comes back', () => {
  it('refuses a route that is not a corridor or does not exist, with a 4xx saying so', async () => {
    await world.publish('acme', 'car-2', pack({ ts: START, lat: 48.1, lon: 11.5 }));
    await waitFor('car-2 known', async () => (await api('GET', '/v1/devices/car-2')).status === 200, 30_000);
    const polygon = await api('PUT', '/v1/devices/car-2/route', { route_id: 'depot' });
    expect(polygon.status).toBe(400);
    expect(((await polygon.json()) as { error: { message: string } }).error.message).toMatch(/geofence "depot" is not a corridor/);
    expect((await api('PUT', '/v1/devices/car-2/route', { route_id: 'nowhere' })).status).toBe(404);
    expect((await api('PUT', '/v1/devices/nobody/route', { route_id: 'school-run' })).status).toBe(404);
    expect((await api('PUT', '/v1/devices/car-2/route', { route: 'school-run' })).status).toBe(400);
  }, 60_000);

  it('derives route.deviated and route.rejoined where the gaps-and-islands query over PostGIS does, with progress as ST_LineLocatePoint gives it', async () => {
    expect(postgis, 'PostGIS must be installed (scripts/services.sh --with-postgis)').toBe(true);
    const [first, ...rest] = drive;
    await world.publish('acme', 'car-1', pack({ ts: first?.ts, lat: first?.lat, lon: first?.lon }));
    await waitFor('car-1 known', async () => (await api('GET', '/v1/devices/car-1')).status === 200, 30_000);
    // The route goes down the device's own subject: the fixes after it are judged against it.
    const assigned = await api('PUT', '/v1/devices/car-1/route', { route_id: 'school-run' });
    expect(assigned.status).toBe(202);
    expect(await assigned.json()).toEqual({ device_id: 'car-1', route_id: 'school-run' });
    // The device shows its route within about a second, before any further fix.
    await waitFor('the route on the device', async () => ((await (await api('GET', '/v1/devices/car-1')).json()) as { route_id: string | null }).route_id === 'school-run', 10_000);
    for (const f of rest) await world.publish('acme', 'car-1', pack({ ts: f.ts, lat: f.lat, lon: f.lon }));
    await waitFor('the drive stored', async () => (await countPositions(world.db, `device_id = 'car-1'`)) === drive.length, 60_000);
    await waitFor('its events published', async () => (await countUnpublished(world.db)) === 0);

    const { rows: events } = await world.db.query<{ type: string; occurred_at: Date; data: { progress: number; distance_m: number; lat: number; lon: number } }>(
      `SELECT type, occurred_at, data FROM events WHERE device_id = 'car-1' AND type LIKE 'route.%' ORDER BY occurred_at`);
    const oracle = await oracleEpisodes();
    expect(oracle.filter((e) => e.endsWith('route.deviated')).length).toBeGreaterThanOrEqual(2);
    expect(oracle.filter((e) => e.endsWith('route.rejoined')).length).toBeGreaterThanOrEqual(1);
    expect(events.map((e) => `${e.occurred_at.toISOString()} ${e.type}`)).toEqual(oracle);
    const listed = (await (await api('GET', '/v1/devices')).json()) as { results: { id: string; route_id: string | null }[] };
    expect(listed.results.map((d) => [d.id, d.route_id])).toEqual([['car-1', 'school-run'], ['car-2', null]]);

    const { rows: located } = await world.db.query<{ progress: number; distance: number }>(
      `SELECT ST_LineLocatePoint(ST_Transform(ST_SetSRID(ST_GeomFromGeoJSON($1), 4326), 32632), ST_Transform(ST_SetSRID(ST_MakePoint(lon, lat), 4326), 32632)) AS progress,
              ST_Distance(ST_GeomFromGeoJSON($1)::geography, ST_SetSRID(ST_MakePoint(lon, lat), 4326)::geography) AS distance
         FROM unnest($2::float8[], $3::float8[]) WITH ORDINALITY AS p(lon, lat, n) ORDER BY n`,
      [JSON.stringify({ type: 'LineString', coordinates: line }), events.map((e) => e.data.lon), events.map((e) => e.data.lat)]);
    events.forEach((e, n) => {
      expect(e.data.progress).toBeCloseTo((located[n] as { progress: number }).progress, 3);
      expect(Math.abs(e.data.distance_m - (located[n] as { distance: number }).distance)).toBeLessThan(0.1);
    });
  }, 120_000);
});
