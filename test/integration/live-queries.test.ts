import { pack } from 'msgpackr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../src/server.js';
import { between, seededRandom } from '../../src/simulate/random.js';
import { createApiKey, keyStore } from '../../src/store/key-store.js';
import { sfNeighbourhoodsWorld } from '../support/geofence-oracle.js';
import { silentLog, waitFor, type TestEnv } from '../support/setup.js';

// Who is where now, against PostGIS on the same last positions (the devices table).
const random = seededRandom(20_261_203);
const FLEET = 300;
const OTHER_FLEET = 20;
const MOVED = 60;
const T0 = Math.floor(Date.now() / 1000) * 1000 - 3600_000;
/** SF's neighbourhoods and a margin of ocean and bay around them. */
const SF_BOX = { minLat: 37.70, maxLat: 37.82, minLon: -122.52, maxLon: -122.35 };
/** Fiji, on both sides of the antimeridian. */
const FIJI = { lat: -17.0, lon: 179.95 };

let world: TestEnv;
let postgis = false;
let server: RunningServer;
let key: string;
let otherKey: string;
let geofenceIds: string[] = [];

interface LiveAnswer {
  count: number;
  next: string | null;
  results: { id: string; last_position: { ts: string; lat: number; lon: number }; distance_m?: number }[];
}

async function get<T>(path: string, withKey = key): Promise<{ status: number; body: T }> {
  const response = await fetch(`http://127.0.0.1:${server.httpPort}${path}`, { headers: { 'x-integration-key': withKey } });
  return { status: response.status, body: (await response.json()) as T };
}

async function publishFleet(tenant: string, count: number, ts: number, prefix = 'v'): Promise<void> {
  for (let i = 0; i < count; i++) {
    // A few devices across the antimeridian, the rest over SF.
    const [lat, lon] = i % 50 === 7
      ? [FIJI.lat + between(random, -0.05, 0.05), ((FIJI.lon + between(random, -0.1, 0.1) + 540) % 360) - 180]
      : [between(random, SF_BOX.minLat, SF_BOX.maxLat), between(random, SF_BOX.minLon, SF_BOX.maxLon)];
    await world.publish(tenant, `${prefix}${i}`, pack({ ts: ts + i, lat, lon }));
  }
}

/** All devices of the tenant at their PostGIS distance from a point, nearest first. */
async function oracleDistances(lat: number, lon: number): Promise<{ id: string; m: number }[]> {
  const { rows } = await world.db.query<{ id: string; m: number }>(`
    SELECT device_id AS id, ST_Distance(ST_MakePoint(lon, lat)::geography, ST_MakePoint($2, $1)::geography) AS m
      FROM devices WHERE tenant_id = 'sf' ORDER BY m, device_id`, [lat, lon]);
  return rows;
}

/** The live index has every device at the position (and fix time) the devices table has. */
async function waitForIndexToMatchTable(): Promise<void> {
  await waitFor('the live index to hold what the devices table holds', async () => {
    const { rows } = await world.db.query<{ id: string; ts: Date }>(`SELECT device_id AS id, last_ts AS ts FROM devices WHERE tenant_id = 'sf' ORDER BY device_id COLLATE "C"`);
    const live = await get<LiveAnswer>('/v1/devices?bbox=-180,-90,180,90&limit=100&offset=0');
    if (live.body.count !== rows.length) return false;
    const all: LiveAnswer['results'] = [];
    for (let offset = 0; offset < live.body.count; offset += 100) all.push(...(await get<LiveAnswer>(`/v1/devices?bbox=-180,-90,180,90&limit=100&offset=${offset}`)).body.results);
    return all.map((d) => `${d.id} ${d.last_position.ts}`).join() === rows.map((r) => `${r.id} ${r.ts.toISOString()}`).join();
  }, 30_000);
}

async function checkNearAndNearest(): Promise<void> {
  for (let q = 0; q < 8; q++) {
    const lat = between(random, SF_BOX.minLat, SF_BOX.maxLat);
    const lon = between(random, SF_BOX.minLon, SF_BOX.maxLon);
    const radiusM = Math.round(between(random, 300, 3000));
    const oracle = await oracleDistances(lat, lon);
    const near = await get<LiveAnswer>(`/v1/devices?near=${lat},${lon}&radius_m=${radiusM}&limit=100`);
    expect(near.status).toBe(200);
    // ST_DWithin on geography, leaving out a 0.5 m band at the radius where the two may differ.
    const within = await world.db.query<{ id: string }>(`SELECT device_id AS id FROM devices WHERE tenant_id = 'sf'
      AND ST_DWithin(ST_MakePoint(lon, lat)::geography, ST_MakePoint($2, $1)::geography, $3)`, [lat, lon, radiusM]);
    const band = new Set(oracle.filter((o) => Math.abs(o.m - radiusM) <= 0.5).map((o) => o.id));
    expect(near.body.results.map((d) => d.id).filter((id) => !band.has(id)).sort()).toEqual(within.rows.map((r) => r.id).filter((id) => !band.has(id)).sort());
    expect(near.body.count).toBeLessThanOrEqual(100);
    for (const d of near.body.results) expect(d.distance_m).toBeCloseTo(oracle.find((o) => o.id === d.id)?.m as number, 2);
    const distances = near.body.results.map((d) => d.distance_m as number);
    expect(distances).toEqual([...distances].sort((a, b) => a - b));

    const nearest = await get<LiveAnswer>(`/v1/devices?nearest=${lat},${lon}&limit=5`);
    expect(nearest.body.results.map((d) => d.id)).toEqual(oracle.slice(0, 5).map((o) => o.id));
    // PostGIS's <-> over geography orders on the sphere: the same five here, where no two of them are within 0.5% of each other.
    const knn = await world.db.query<{ id: string }>(`SELECT device_id AS id FROM devices WHERE tenant_id = 'sf'
      ORDER BY ST_MakePoint(lon, lat)::geography <-> ST_MakePoint($2, $1)::geography LIMIT 5`, [lat, lon]);
    const clearlyOrdered = oracle.slice(0, 6).every((o, i, all) => i === 0 || o.m - (all[i - 1] as { m: number }).m > 0.005 * o.m);
    if (clearlyOrdered) expect(knn.rows.map((r) => r.id)).toEqual(oracle.slice(0, 5).map((o) => o.id));
  }
}

async function checkBoxesAndShapes(): Promise<void> {
  for (let q = 0; q < 6; q++) {
    const [lat1, lat2] = [between(random, SF_BOX.minLat, SF_BOX.maxLat), between(random, SF_BOX.minLat, SF_BOX.maxLat)].sort((a, b) => a - b);
    const [lon1, lon2] = [between(random, SF_BOX.minLon, SF_BOX.maxLon), between(random, SF_BOX.minLon, SF_BOX.maxLon)].sort((a, b) => a - b);
    const live = await get<LiveAnswer>(`/v1/devices?bbox=${lon1},${lat1},${lon2},${lat2}&limit=100`);
    // && compares float4 boxes, a little larger than the points: ST_Covers of the envelope is exact (edges included).
    const oracle = await world.db.query<{ id: string }>(`SELECT device_id AS id FROM devices WHERE tenant_id = 'sf'
      AND ST_MakePoint(lon, lat) && ST_MakeEnvelope($1, $2, $3, $4) AND ST_Covers(ST_MakeEnvelope($1, $2, $3, $4), ST_MakePoint(lon, lat))
      ORDER BY device_id COLLATE "C"`, [lon1, lat1, lon2, lat2]);
    expect(live.body.results.map((d) => d.id)).toEqual(oracle.rows.map((r) => r.id).slice(0, 100));
  }
  // Across the antimeridian: the two halves of the box, as PostGIS has no such box.
  const fiji = await get<LiveAnswer>('/v1/devices?bbox=179.5,-17.5,-179.5,-16.5');
  const halves = await world.db.query<{ id: string }>(`SELECT device_id AS id FROM devices WHERE tenant_id = 'sf'
    AND (ST_MakePoint(lon, lat) && ST_MakeEnvelope(179.5, -17.5, 180, -16.5) OR ST_MakePoint(lon, lat) && ST_MakeEnvelope(-180, -17.5, -179.5, -16.5)) ORDER BY device_id COLLATE "C"`);
  expect(halves.rows.length).toBeGreaterThan(2);
  expect(fiji.body.results.map((d) => d.id)).toEqual(halves.rows.map((r) => r.id));

  for (const id of geofenceIds) {
    const live = await get<LiveAnswer>(`/v1/devices?within=${encodeURIComponent(id)}&limit=100`);
    expect(live.status).toBe(200);
    const covered = await world.db.query<{ id: string }>(`SELECT d.device_id AS id FROM devices d JOIN geofences g ON g.tenant_id = d.tenant_id
      WHERE d.tenant_id = 'sf' AND g.id = $1 AND ST_Covers(ST_SetSRID(ST_GeomFromGeoJSON(g.feature->'geometry'), 4326), ST_SetSRID(ST_MakePoint(d.lon, d.lat), 4326))
      ORDER BY d.device_id COLLATE "C"`, [id]);
    expect(live.body.results.map((d) => d.id), id).toEqual(covered.rows.map((r) => r.id));
  }
}

/** Occupants and occupancy as the rules' state has them (the devices table's `inside`, written by the processor). */
async function checkOccupancy(): Promise<number> {
  let occupied = 0;
  const listed = await get<{ results: { properties: { id: string }; occupancy: number }[] }>('/v1/geofences?occupancy=true&limit=100');
  for (const id of geofenceIds) {
    const { rows } = await world.db.query<{ id: string; entered: string }>(
      `SELECT device_id AS id, (inside::jsonb ->> $1) AS entered FROM devices WHERE tenant_id = 'sf' AND inside::jsonb ? $1 ORDER BY device_id COLLATE "C"`, [id]);
    const inside = await get<{ count: number; results: { device_id: string; entered_at: string; dwell_seconds: number }[] }>(`/v1/geofences/${encodeURIComponent(id)}/devices?limit=100`);
    expect(inside.status).toBe(200);
    expect(inside.body.results.map((o) => `${o.device_id} ${o.entered_at}`), id).toEqual(rows.map((r) => `${r.id} ${new Date(Number(r.entered)).toISOString()}`));
    for (const o of inside.body.results) expect(o.dwell_seconds).toBeGreaterThan(0);
    expect(listed.body.results.find((f) => f.properties.id === id)?.occupancy, id).toBe(rows.length);
    occupied += rows.length;
  }
  return occupied;
}

beforeAll(async () => {
  ({ world, postgis } = await sfNeighbourhoodsWorld());
  server = await startServer(world.config, silentLog);
  ({ key } = await createApiKey(keyStore(world.db), 'sf'));
  ({ key: otherKey } = await createApiKey(keyStore(world.db), 'other'));
  geofenceIds = (await world.db.query<{ id: string }>(`SELECT id FROM geofences WHERE tenant_id = 'sf' ORDER BY id`)).rows.map((r) => r.id);
  await publishFleet('sf', FLEET, T0);
  await publishFleet('other', OTHER_FLEET, T0);
  await waitFor('both fleets in the devices table', async () => {
    const { rows } = await world.db.query<{ n: string }>(`SELECT count(*) AS n FROM devices`);
    return Number(rows[0]?.n) === FLEET + OTHER_FLEET;
  }, 60_000);
}, 120_000);

afterAll(async () => {
  await server?.stop();
  await world?.dispose();
});

describe('live queries - who is where now, from the live index', () => {
  it('answers near, nearest, bbox and within as PostGIS does over the devices table, and who is inside each geofence as the rules have it', async () => {
    expect(postgis, 'PostGIS must be installed (scripts/services.sh --with-postgis)').toBe(true);
    // The first query reads the table; everything after follows the processors' announcements.
    await waitForIndexToMatchTable();
    await checkNearAndNearest();
    await checkBoxesAndShapes();
    expect(await checkOccupancy()).toBeGreaterThan(FLEET / 2);
  }, 120_000);

  it('follows the processors: moved devices are answered where they are now, and seen_since keeps only them', async () => {
    const movedAt = T0 + 1800_000;
    // The same devices, later, elsewhere: the index follows the announcements, without reading the table again.
    await publishFleet('sf', MOVED, movedAt);
    await waitFor('the moves in the devices table', async () => {
      const { rows } = await world.db.query<{ n: string }>(`SELECT count(*) AS n FROM devices WHERE tenant_id = 'sf' AND last_ts >= $1`, [new Date(movedAt)]);
      return Number(rows[0]?.n) === MOVED;
    }, 30_000);
    await waitForIndexToMatchTable();
    await checkNearAndNearest();
    await checkBoxesAndShapes();
    await checkOccupancy();
    const since = await get<LiveAnswer>(`/v1/devices?seen_since=${new Date(movedAt).toISOString()}&limit=100`);
    expect(since.body.results.map((d) => d.id)).toEqual(Array.from({ length: MOVED }, (_, i) => `v${i}`).sort());
    const nearSince = await get<LiveAnswer>(`/v1/devices?near=37.76,-122.44&radius_m=20000&seen_since=${new Date(movedAt).toISOString()}&limit=100`);
    expect(nearSince.body.results.every((d) => Date.parse(d.last_position.ts) >= movedAt)).toBe(true);
    expect(nearSince.body.count).toBeGreaterThan(MOVED / 2);
  }, 120_000);

  it('tags devices through the stream: shown on the device, and tag= keeps only those that have it', async () => {
    const put = (id: string, tags: string[]) => fetch(`http://127.0.0.1:${server.httpPort}/v1/devices/${id}/tags`, {
      method: 'PUT', headers: { 'x-integration-key': key, 'content-type': 'application/json' }, body: JSON.stringify({ tags }),
    });
    const reefers = ['v10', 'v11', 'v12', 'v200'];
    for (const id of reefers) expect((await put(id, ['reefer', 'north'])).status).toBe(202);
    expect(await (await put('v12', ['reefer'])).json()).toEqual({ device_id: 'v12', tags: ['reefer'] });
    await waitFor('the tags on the devices', async () => {
      const answer = await get<LiveAnswer & { results: { tags: string[] }[] }>('/v1/devices?tag=reefer&limit=100');
      return answer.body.results.map((d) => d.id).join() === [...reefers].sort().join();
    }, 20_000);
    expect((await get<{ tags: string[] }>('/v1/devices/v12')).body.tags).toEqual(['reefer']);
    expect((await get<{ tags: string[] }>('/v1/devices/v10')).body.tags).toEqual(['north', 'reefer']);
    expect((await get<LiveAnswer>('/v1/devices?tag=north&limit=100')).body.results.map((d) => d.id)).toEqual(['v10', 'v11', 'v200']);
    const near = await get<LiveAnswer>('/v1/devices?nearest=37.76,-122.44&limit=100&tag=reefer');
    expect(near.body.results.map((d) => d.id).sort()).toEqual([...reefers].sort());
    // A device with new tags but no new fix keeps its position and time.
    const { rows } = await world.db.query<{ tags: string[]; last_ts: Date }>(`SELECT tags, last_ts FROM devices WHERE tenant_id = 'sf' AND device_id = 'v200'`);
    expect(rows[0]).toEqual({ tags: ['north', 'reefer'], last_ts: new Date(T0 + 200) });
    expect((await put('v200', ['not a tag'])).status).toBe(400);
    expect((await put('nobody', ['reefer'])).status).toBe(404);
    expect((await get<{ error: { message: string } }>('/v1/devices?tag=a%20b')).body.error.message).toMatch(/^tag must be a token/);
  });

  it('keeps tenants apart on every route', async () => {
    const other = await get<LiveAnswer>('/v1/devices?near=37.76,-122.44&radius_m=50000&limit=100', otherKey);
    expect(other.body.count).toBe(OTHER_FLEET - 1);
    expect((await get<LiveAnswer>('/v1/devices?nearest=37.76,-122.44&limit=100', otherKey)).body.count).toBe(OTHER_FLEET);
    expect((await get<LiveAnswer>('/v1/devices?bbox=-180,-90,180,90&limit=100', otherKey)).body.count).toBe(OTHER_FLEET);
    expect((await get<LiveAnswer>(`/v1/devices?within=${encodeURIComponent(geofenceIds[0] as string)}`, otherKey)).status).toBe(404);
    expect((await get<LiveAnswer>(`/v1/geofences/${encodeURIComponent(geofenceIds[0] as string)}/devices`, otherKey)).status).toBe(404);
    expect((await get<LiveAnswer>('/v1/devices?bbox=-180,-90,180,90&limit=100')).body.count).toBe(FLEET);
  });

  it('answers a 400 naming the parameter for each malformed or misplaced one', async () => {
    const cases: [string, string][] = [
      ['near=37.7', 'near'], ['near=91,0&radius_m=10', 'near'], ['near=37.7,-181&radius_m=10', 'near'], ['near=37.7,-122.4', 'radius_m'],
      ['near=37.7,-122.4&radius_m=0', 'radius_m'], ['near=37.7,-122.4&radius_m=1000001', 'radius_m'], ['near=37.7,-122.4&radius_m=ten', 'radius_m'],
      ['radius_m=100', 'radius_m'], ['nearest=abc', 'nearest'], ['nearest=37.7,-122.4&limit=0', 'limit'], ['nearest=37.7,-122.4&offset=5', 'offset'],
      ['bbox=1,2,3', 'bbox'], ['bbox=0,10,1,5', 'bbox'], ['bbox=0,0,200,1', 'bbox'], ['within=%20bad', 'within'],
      ['seen_since=yesterday', 'seen_since'], ['near=37.7,-122.4&radius_m=10&bbox=0,0,1,1', 'near and bbox'], ['nearest=0,0&within=x', 'nearest and within'],
    ];
    for (const [query, name] of cases) {
      const answer = await get<{ error: { code: string; message: string } }>(`/v1/devices?${query}`);
      expect(answer.status, query).toBe(400);
      expect(answer.body.error.message, query).toContain(name);
    }
    expect((await get<{ error: { message: string } }>('/v1/devices?within=no-such-geofence')).status).toBe(404);
    expect((await get<{ error: { message: string } }>('/v1/geofences/no-such-geofence/devices')).status).toBe(404);
    expect((await get<{ error: { message: string } }>('/v1/geofences?occupancy=maybe')).status).toBe(400);
  });
});
