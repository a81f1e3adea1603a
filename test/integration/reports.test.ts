import { pack } from 'msgpackr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../src/server.js';
import { createApiKey, keyStore } from '../../src/store/key-store.js';
import { buildApp } from '../../src/http/app.js';
import { oracleTransitions, sfNeighbourhoodsWorld } from '../support/geofence-oracle.js';
import { driveThrough, loadDrive, type DriveFix } from '../support/recorded-drive.js';
import { apiDeps, countPositions, countUnpublished, silentLog, waitFor, type TestEnv } from '../support/setup.js';

const SF = { lat: 37.765, lon: -122.445 };
const munich = loadDrive('munich-car-1hz.json');
const START = Math.floor(Date.now() / 1000) * 1000 - 2 * 3600_000;
const drive = driveThrough(munich, munich, SF, START);
const END = (drive[drive.length - 1] as DriveFix).ts;

let world: TestEnv;
let postgis = false;
let server: RunningServer;
let key: string;

interface Visit {
  device_id: string;
  geofence_id: string;
  geofence_name: string;
  entered_at: string;
  left_at: string | null;
  dwell_seconds: number;
}

async function get<T>(path: string): Promise<{ status: number; body: T }> {
  const response = await fetch(`http://127.0.0.1:${server.httpPort}${path}`, { headers: { 'x-integration-key': key } });
  return { status: response.status, body: (await response.json()) as T };
}

/**
 * The oracle: gaps and islands over ST_Covers of the stored positions in fix-time order. A
 * visit begins at the first fix inside and ends at the first fix outside after it (none while
 * inside), cut to [from, to).
 */
async function oracleVisits(deviceId: string, from: string, to: string): Promise<string[]> {
  const { rows } = await world.db.query<{ name: string; entered: Date; left_at: Date | null }>(`
    WITH fixes AS (
      SELECT ts, lat, lon, lead(ts) OVER (ORDER BY ts) AS next_ts, row_number() OVER (ORDER BY ts) AS i FROM positions WHERE device_id = $1
    ), inside AS (
      SELECT n.name, f.ts, f.next_ts, f.i - row_number() OVER (PARTITION BY n.name ORDER BY f.i) AS island
        FROM fixes f JOIN oracle_neighbourhoods n ON ST_Covers(n.geom, ST_SetSRID(ST_MakePoint(f.lon, f.lat), 4326))
    ), visits AS (
      SELECT name, min(ts) AS entered, (array_agg(next_ts ORDER BY ts DESC))[1] AS left_at FROM inside GROUP BY name, island
    )
    SELECT name, greatest(entered, $2::timestamptz) AS entered, CASE WHEN left_at IS NULL THEN NULL ELSE least(left_at, $3::timestamptz) END AS left_at
      FROM visits WHERE entered < $3 AND (left_at IS NULL OR left_at > $2)`, [deviceId, from, to]);
  return rows.map((r) => `${r.entered.toISOString()} ${r.left_at?.toISOString() ?? 'inside'} ${r.name}`).sort();
}

const asLines = (visits: readonly Visit[]) => visits.map((v) => `${v.entered_at} ${v.left_at ?? 'inside'} ${v.geofence_name}`).sort();

beforeAll(async () => {
  ({ world, postgis } = await sfNeighbourhoodsWorld());
  server = await startServer(world.config, silentLog);
  ({ key } = await createApiKey(keyStore(world.db), 'sf'));
  for (const f of drive) await world.publish('sf', 'car-1', pack({ ts: f.ts, lat: f.lat, lon: f.lon }));
  await waitFor('the drive stored', async () => (await countPositions(world.db, `device_id = 'car-1'`)) === drive.length, 60_000);
  await waitFor('its events published', async () => (await countUnpublished(world.db)) === 0);
});

afterAll(async () => {
  await server?.stop();
  await world?.dispose();
});

describe('reports - visits and time in zone from the stored events', () => {
  it('lists every visit of the drive as PostGIS gives it, whole and cut to a range', async () => {
    expect(postgis, 'PostGIS must be installed (scripts/services.sh --with-postgis)').toBe(true);
    const whole = { from: new Date(START - 60_000).toISOString(), to: new Date(END + 60_000).toISOString() };
    // The last neighbourhood is never left: the drive ends in it, and the range ended since.
    const all = await get<{ count: number; results: Visit[] }>(`/v1/reports/visits?device_id=car-1&from=${whole.from}&to=${whole.to}&limit=100`);
    expect(all.status).toBe(200);
    expect(all.body.count).toBeGreaterThan(5);
    const oracle = await oracleVisits('car-1', whole.from, whole.to);
    expect(asLines(all.body.results).map((l) => l.replace(`${whole.to} `, 'inside '))).toEqual(oracle);

    const cut = { from: new Date(START + 400_000).toISOString(), to: new Date(START + 800_000).toISOString() };
    const part = await get<{ results: Visit[] }>(`/v1/reports/visits?device_id=car-1&from=${cut.from}&to=${cut.to}&limit=100`);
    expect(asLines(part.body.results)).toEqual(await oracleVisits('car-1', cut.from, cut.to));
    for (const visit of part.body.results) {
      expect(visit.dwell_seconds).toBeCloseTo((Date.parse(visit.left_at ?? cut.to) - Date.parse(visit.entered_at)) / 1000, 3);
    }

    const one = part.body.results[0] as Visit;
    const ofOne = await get<{ results: Visit[] }>(`/v1/reports/visits?geofence_id=${encodeURIComponent(one.geofence_id)}&from=${cut.from}&to=${cut.to}`);
    expect(ofOne.body.results.every((v) => v.geofence_id === one.geofence_id)).toBe(true);
    expect(ofOne.body.results).toContainEqual(one);
  });

  it('totals the time inside per device and per geofence, equal to the sum of the visits', async () => {
    const range = `from=${new Date(START + 400_000).toISOString()}&to=${new Date(START + 800_000).toISOString()}`;
    const visits = (await get<{ results: Visit[] }>(`/v1/reports/visits?${range}&limit=100`)).body.results;
    const byDevice = await get<{ results: { device_id: string; visits: number; seconds_inside: number }[] }>(`/v1/reports/time-in-zone?${range}`);
    expect(byDevice.body.results).toEqual([{ device_id: 'car-1', visits: visits.length, seconds_inside: expect.closeTo(visits.reduce((s, v) => s + v.dwell_seconds, 0), 2) }]);
    const byGeofence = await get<{ results: { geofence_id: string; visits: number; seconds_inside: number }[] }>(`/v1/reports/time-in-zone?${range}&group_by=geofence&limit=100`);
    expect(byGeofence.body.results.reduce((n, g) => n + g.visits, 0)).toBe(visits.length);
    for (const total of byGeofence.body.results) {
      const own = visits.filter((v) => v.geofence_id === total.geofence_id);
      expect(total.seconds_inside).toBeCloseTo(own.reduce((s, v) => s + v.dwell_seconds, 0), 2);
    }
  });

  it('answers 400 naming the parameter for a missing, malformed, reversed or too long range, and another tenant sees nothing', async () => {
    const bad = async (query: string) => (await get<{ error: { code: string; message: string } }>(`/v1/reports/visits?${query}`)).body.error;
    expect(await bad('device_id=car-1')).toMatchObject({ code: 'invalid_request', message: expect.stringMatching(/needs from and to/) });
    expect(await bad('from=yesterday&to=2026-01-01T00:00:00Z')).toMatchObject({ code: 'invalid_request', message: expect.stringMatching(/from/) });
    expect(await bad('from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z')).toMatchObject({ message: expect.stringMatching(/from \(.*\) must be before to/) });
    expect(await bad('from=2026-01-01T00:00:00Z&to=2026-12-01T00:00:00Z')).toMatchObject({ message: expect.stringMatching(/334.0 days apart; a report covers at most 92/) });
    expect((await get<{ error: { message: string } }>('/v1/reports/time-in-zone?from=2026-01-01T00:00:00Z&to=2026-01-02T00:00:00Z&group_by=tenant')).body.error.message).toMatch(/group_by/);
    const other = (await createApiKey(keyStore(world.db), 'other')).key;
    const response = await fetch(`http://127.0.0.1:${server.httpPort}/v1/reports/visits?from=${new Date(START).toISOString()}&to=${new Date(END).toISOString()}`, { headers: { 'x-integration-key': other } });
    expect(((await response.json()) as { count: number }).count).toBe(0);
  });
});

describe('tracks - a device\'s positions as one LineString, simplified in metres', () => {
  interface Track { type: string; geometry: { type: string; coordinates: [number, number][] } | null; properties: { positions: number; points: number; simplify_m: number | null } }

  it('draws the whole drive, and a Douglas-Peucker line every fix of which lies within simplify_m of it (PostGIS)', async () => {
    const range = `from=${new Date(START - 60_000).toISOString()}&to=${new Date(END + 60_000).toISOString()}`;
    const whole = await get<Track>(`/v1/devices/car-1/positions?format=geojson&${range}`);
    expect(whole.status).toBe(200);
    expect(whole.body.properties).toMatchObject({ positions: drive.length, points: drive.length, simplify_m: null });
    expect(whole.body.geometry?.coordinates[0]).toEqual([(drive[0] as DriveFix).lon, (drive[0] as DriveFix).lat]);
    const simplified = await get<Track>(`/v1/devices/car-1/positions?format=geojson&simplify_m=20&${range}`);
    const line = simplified.body.geometry;
    expect(simplified.body.properties.points).toBeLessThan(drive.length / 4);
    expect(line?.coordinates[0]).toEqual(whole.body.geometry?.coordinates[0]);
    expect(line?.coordinates.at(-1)).toEqual(whole.body.geometry?.coordinates.at(-1));
    const { rows: [far] } = await world.db.query<{ metres: number }>(
      `SELECT max(ST_Distance(ST_SetSRID(ST_MakePoint(lon, lat), 4326)::geography, ST_SetSRID(ST_GeomFromGeoJSON($1), 4326)::geography)) AS metres
         FROM positions WHERE device_id = 'car-1'`, [JSON.stringify(line)]);
    // The projection to metres around the middle latitude is not the ellipsoid: a few centimetres.
    expect(far?.metres).toBeLessThan(20.1);
    expect(far?.metres).toBeGreaterThan(5);
  });

  it('answers 400 naming simplify_m or format when they are wrong, and a range without fixes draws no line', async () => {
    const error = async (query: string) => (await get<{ error: { code: string; message: string } }>(`/v1/devices/car-1/positions?${query}`)).body.error;
    expect((await error('format=geojson&simplify_m=-1')).message).toMatch(/simplify_m/);
    expect((await error('format=kml')).message).toMatch(/format/);
    expect(await error('simplify_m=10')).toEqual({ code: 'invalid_request', message: 'simplify_m draws a track: use it with format=geojson' });
    const empty = await get<Track>('/v1/devices/car-1/positions?format=geojson&from=2020-01-01T00:00:00Z&to=2020-01-02T00:00:00Z');
    expect(empty.body).toMatchObject({ type: 'Feature', geometry: null, properties: { positions: 0, points: 0 } });
  });
});

describe('backtest - what a geofence would have derived over the stored positions, before it goes live', () => {
  interface BacktestEvent { id: string; type: string; device_id: string; occurred_at: string; data: Record<string, unknown> }
  interface BacktestAnswer { geofence_id: string; positions: number; events: BacktestEvent[]; summary?: { fixes: number; devices: number; events: number }; error?: unknown }
  const whole = () => ({ from: new Date(START - 60_000).toISOString(), to: new Date(END + 60_000).toISOString() });

  async function backtest<T = BacktestAnswer>(body: unknown, withKey = key): Promise<{ status: number; body: T }> {
    const response = await fetch(`http://127.0.0.1:${server.httpPort}/v1/geofences/backtest`, {
      method: 'POST', headers: { 'x-integration-key': withKey, 'content-type': 'application/json' }, body: JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as T };
  }

  it('derives from the stored drive exactly the events the live path derived, for every geofence it touched', async () => {
    const { rows: touched } = await world.db.query<{ id: string }>(
      `SELECT DISTINCT data->>'geofence_id' AS id FROM events WHERE type LIKE 'geofence.%' AND type <> 'geofence.change' AND retracted_by IS NULL ORDER BY 1`);
    expect(touched.length).toBeGreaterThan(5);
    for (const { id } of touched) {
      const { rows: live } = await world.db.query<{ id: string; type: string; occurred_at: Date; data: Record<string, unknown> }>(
        `SELECT id, type, occurred_at, data FROM events WHERE data->>'geofence_id' = $1 AND type LIKE 'geofence.%' AND retracted_by IS NULL ORDER BY occurred_at, id`, [id]);
      const answer = await backtest({ geofence_id: id, ...whole() });
      expect(answer.status, id).toBe(200);
      expect(answer.body.positions).toBe(drive.length);
      expect(answer.body.summary).toEqual({ fixes: drive.length, devices: 1, events: live.length });
      const derived = [...answer.body.events].sort((a, b) => a.occurred_at.localeCompare(b.occurred_at) || a.id.localeCompare(b.id));
      expect(derived, id).toEqual(live.map((e) => ({ id: e.id, type: e.type, device_id: 'car-1', occurred_at: e.occurred_at.toISOString(), data: e.data })));
    }
  });

  it('enters and leaves a draft Feature where PostGIS has the drive cross its outline', async () => {
    const { rows: [stored] } = await world.db.query<{ feature: { properties: Record<string, unknown> } }>(
      `SELECT g.feature FROM geofences g WHERE g.tenant_id = 'sf' AND g.id = (SELECT data->>'geofence_id' FROM events WHERE type = 'geofence.enter' ORDER BY occurred_at LIMIT 1 OFFSET 2)`);
    const name = String(stored?.feature.properties.name);
    const draft = { ...stored?.feature, properties: { ...stored?.feature.properties, id: 'draft-zone', name: 'Draft zone' } };
    const answer = await backtest({ geofence: draft, ...whole() });
    expect(answer.status).toBe(200);
    expect(answer.body.geofence_id).toBe('draft-zone');
    const transitions = answer.body.events.filter((e) => e.type === 'geofence.enter' || e.type === 'geofence.leave').map((e) => `${e.occurred_at} ${e.type.slice(9)} ${name}`);
    const oracle = (await oracleTransitions(world.db, drive)).filter((line) => line.endsWith(` ${name}`));
    expect(oracle.length).toBeGreaterThan(0);
    expect(transitions).toEqual(oracle);
    expect(answer.body.events.every((e) => e.data.geofence_id === 'draft-zone' && e.data.geofence_name === 'Draft zone')).toBe(true);
  });

  it('refuses past its limits with a 400 naming them, runs one per tenant at a time, and keeps tenants apart', async () => {
    const error = async (body: unknown) => (await backtest<{ error: { code: string; message: string } }>(body)).body.error;
    const id = (await world.db.query<{ id: string }>(`SELECT id FROM geofences WHERE tenant_id = 'sf' ORDER BY id LIMIT 1`)).rows[0]?.id as string;
    expect((await error({ geofence_id: id, from: '2026-01-01T00:00:00Z', to: '2026-01-09T00:00:00Z' })).message).toMatch(/more than 7 days/);
    expect((await error({ geofence_id: id, from: '2026-01-02T00:00:00Z', to: '2026-01-01T00:00:00Z' })).message).toMatch(/from must be before to/);
    expect((await error({ ...whole() })).message).toMatch(/give one of geofence .* and geofence_id/);
    expect((await error({ geofence_id: id, geofence: { type: 'Feature', properties: {}, geometry: { type: 'Point', coordinates: [0, 0] } }, ...whole() })).message).toMatch(/give one of/);
    expect((await error({ geofence: { type: 'Feature', properties: {}, geometry: { type: 'Polygon', coordinates: [[[0, 0], [1, 1], [0, 0]]] } }, ...whole() })).message).toMatch(/geofence/);
    expect((await error({ geofence_id: id, device_ids: ['not ok'], ...whole() })).message).toMatch(/device_ids/);
    expect((await backtest({ geofence_id: 'no-such-zone', ...whole() })).status).toBe(404);
    const other = (await createApiKey(keyStore(world.db), 'elsewhere')).key;
    expect((await backtest({ geofence_id: id, ...whole() }, other)).status).toBe(404);
    const nothing = await backtest({ geofence_id: id, device_ids: ['car-2'], ...whole() });
    expect(nothing.body).toMatchObject({ positions: 0, events: [], summary: { fixes: 0, devices: 0, events: 0 } });

    // Another backtest of the tenant holds the lock (here, this session): a second is refused.
    const holder = await world.db.connect();
    try {
      await holder.query(`SELECT pg_advisory_lock(hashtextextended('fencewire.backtest.' || 'sf', 0))`);
      const busy = await backtest<{ error: { code: string; message: string } }>({ geofence_id: id, ...whole() });
      expect(busy.status).toBe(409);
      expect(busy.body.error.message).toMatch(/one runs at a time/);
      expect((await backtest({ geofence_id: id, ...whole() }, other)).status).toBe(404);
    } finally {
      await holder.query(`SELECT pg_advisory_unlock_all()`);
      holder.release();
    }
    expect((await backtest({ geofence_id: id, ...whole() })).status).toBe(200);

    // A range holding more positions than the limit (set low here).
    const app = buildApp(apiDeps(world, { backtestMaxPositions: 100 }));
    try {
      const answer = await app.inject({ method: 'POST', url: '/v1/geofences/backtest', headers: { 'x-integration-key': key }, payload: { geofence_id: id, ...whole() } });
      expect(answer.statusCode).toBe(400);
      expect(answer.json<{ error: { message: string } }>().error.message).toMatch(/more than 100 positions, the most one backtest reads/);
    } finally {
      await app.close();
    }
  });
});
