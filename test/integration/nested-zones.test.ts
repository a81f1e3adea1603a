import { pack } from 'msgpackr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { notifyGeofencesChanged } from '../../src/bus/geofence-changes.js';
import { importGeofences } from '../../src/geofences/geofence-import.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { geofenceStore } from '../../src/store/geofence-store.js';
import { createApiKey, keyStore } from '../../src/store/key-store.js';
import { sfNeighbourhoodsWorld } from '../support/geofence-oracle.js';
import { driveThrough, loadDrive, type DriveFix } from '../support/recorded-drive.js';
import { countPositions, countUnpublished, silentLog, waitFor, type TestEnv } from '../support/setup.js';
import { startReceiver, type Receiver } from './webhook-receiver.js';

// One drive through nested zones, end to end (issue 21): San Francisco as a zone around its
// neighbourhoods, some neighbourhoods ranked below it (priority -1), the others above it by their
// smaller area. The device's zone changes (geofence.change) are checked against PostGIS's
// ST_Covers of each fix ranked the same way, and the webhooks: every change to one endpoint, the
// enters to another with a throttle, against the throttle worked out here from the stored events.
const SF = { lat: 37.765, lon: -122.445 };
const munich = loadDrive('munich-car-1hz.json');
const START = Math.floor(Date.now() / 1000) * 1000 - 2 * 3600_000;
const drive = driveThrough(munich, munich, SF, START);
const THROTTLE_S = 3600;

let world: TestEnv;
let postgis = false;
let server: RunningServer;
let receiver: Receiver;
const secrets = new Map<string, string>();

async function endpoint(key: string, path: string, body: object): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${server.httpPort}/v1/webhooks`, {
    method: 'POST', headers: { 'x-integration-key': key, 'content-type': 'application/json' }, body: JSON.stringify({ url: receiver.url(path), ...body }),
  });
  const created = (await response.json()) as { id: string; secret: string };
  secrets.set(path, created.secret);
  return created.id;
}

beforeAll(async () => {
  ({ world, postgis } = await sfNeighbourhoodsWorld({ WEBHOOK_ALLOW_PRIVATE: 'true', WEBHOOK_POLL_MS: '50' }));
  const { rows: [box] } = await world.db.query<{ w: number; s: number; e: number; n: number }>(`SELECT min(ST_XMin(geom)) - 0.01 AS w, min(ST_YMin(geom)) - 0.01 AS s,
    max(ST_XMax(geom)) + 0.01 AS e, max(ST_YMax(geom)) + 0.01 AS n FROM oracle_neighbourhoods`);
  const { w, s, e, n } = box as { w: number; s: number; e: number; n: number };
  const city = { type: 'Feature', properties: { id: 'sf-city', name: 'San Francisco' }, geometry: { type: 'Polygon', coordinates: [[[w, s], [e, s], [e, n], [w, n], [w, s]]] } };
  expect((await importGeofences(geofenceStore(world.db), 'sf', { type: 'FeatureCollection', features: [city] }, { limits: world.config.quotas.geofences, geometry: null })).errors).toEqual([]);
  await world.db.query(`UPDATE geofences SET feature = jsonb_set(feature, '{properties,priority}', '-1') WHERE tenant_id = 'sf' AND feature->'properties'->>'name' < 'N'`);
  await notifyGeofencesChanged(world.nc, world.topology, 'sf');
  server = await startServer(world.config, silentLog);
  receiver = await startReceiver(() => ({ status: 204 }), (path) => secrets.get(path));
}, 60_000);

afterAll(async () => {
  await server?.stop();
  await receiver?.close();
  await world?.dispose();
});

/** The zone of each fix as PostGIS has it (ST_Covers; priority, then area on the spheroid, then id), as `<time> <from>><to>` changes. */
async function oracleChanges(): Promise<string[]> {
  const sorted = [...drive].sort((a, b) => a.ts - b.ts);
  const { rows } = await world.db.query<{ i: number; zone: string | null }>(`
    WITH zones AS (
      SELECT id, coalesce((feature->'properties'->>'priority')::int, 0) AS priority, ST_SetSRID(ST_GeomFromGeoJSON(feature->'geometry'), 4326) AS geom
        FROM geofences WHERE tenant_id = 'sf')
    SELECT p.i, (SELECT z.id FROM zones z WHERE ST_Covers(z.geom, ST_SetSRID(ST_MakePoint(p.lon, p.lat), 4326))
                  ORDER BY z.priority DESC, ST_Area(z.geom::geography), z.id COLLATE "C" LIMIT 1) AS zone
      FROM unnest($1::float8[], $2::float8[]) WITH ORDINALITY AS p(lon, lat, i) ORDER BY p.i`,
  [sorted.map((f) => f.lon), sorted.map((f) => f.lat)]);
  const changes: string[] = [];
  let zone: string | null = null;
  rows.forEach((row, i) => {
    if (row.zone !== zone) changes.push(`${new Date((sorted[i] as DriveFix).ts).toISOString()} ${zone ?? '-'}>${row.zone ?? '-'}`);
    zone = row.zone;
  });
  return changes;
}

describe('nested zones end to end - a drive through San Francisco and its neighbourhoods', () => {
  it('changes zone where PostGIS ranks the covering zones so, and delivers every change and the throttled enters', async () => {
    expect(postgis, 'PostGIS must be installed (scripts/services.sh --with-postgis)').toBe(true);
    const { key } = await createApiKey(keyStore(world.db), 'sf');
    await endpoint(key, '/changes', { events: ['geofence.change'] });
    const enters = await endpoint(key, '/enters', { events: ['geofence.enter'], throttle: { seconds: THROTTLE_S } });
    for (const f of drive) await world.publish('sf', 'car-1', pack({ ts: f.ts, lat: f.lat, lon: f.lon }));
    await waitFor('the drive stored', async () => (await countPositions(world.db, `device_id = 'car-1'`)) === drive.length, 60_000);
    await waitFor('its events published', async () => (await countUnpublished(world.db)) === 0);

    const { rows: changes } = await world.db.query<{ id: string; occurred_at: Date; data: { from_geofence_id: string | null; to_geofence_id: string | null } }>(
      `SELECT id, occurred_at, data FROM events WHERE type = 'geofence.change' AND retracted_by IS NULL ORDER BY occurred_at`);
    const live = changes.map((c) => `${c.occurred_at.toISOString()} ${c.data.from_geofence_id ?? '-'}>${c.data.to_geofence_id ?? '-'}`);
    const oracle = await oracleChanges();
    expect(oracle.length).toBeGreaterThan(5);
    expect(oracle.some((line) => line.includes('>sf-city'))).toBe(true);
    expect(live).toEqual(oracle);

    await waitFor('every change delivered', () => receiver.at('/changes').length >= changes.length, 30_000);
    expect(receiver.at('/changes').map((r) => r.headers['x-event-id']).sort()).toEqual(changes.map((c) => c.id).sort());

    // The throttle, worked out from the stored enters: per geofence, in event-time order, one
    // goes unless another that went occurred within THROTTLE_S of it.
    const { rows: entered } = await world.db.query<{ id: string; ms: number; geofence: string }>(
      `SELECT id, extract(epoch FROM occurred_at)::float8 * 1000 AS ms, data->>'geofence_id' AS geofence FROM events WHERE type = 'geofence.enter' AND retracted_by IS NULL ORDER BY occurred_at, id`);
    const went = new Map<string, number[]>();
    const expectedSent: string[] = [];
    const expectedThrottled: string[] = [];
    for (const e of entered) {
      const times = went.get(e.geofence) ?? [];
      if (times.some((t) => Math.abs(t - e.ms) < THROTTLE_S * 1000)) expectedThrottled.push(e.id);
      else {
        expectedSent.push(e.id);
        went.set(e.geofence, [...times, e.ms]);
      }
    }
    expect(expectedThrottled.length).toBeGreaterThan(0);
    await waitFor('the enters delivered or throttled', async () => {
      const { rows } = await world.db.query<{ n: string }>(`SELECT count(*) AS n FROM webhook_deliveries WHERE endpoint_id = $1 AND status IN ('succeeded', 'throttled')`, [enters]);
      return Number(rows[0]?.n) === entered.length;
    }, 30_000);
    expect(receiver.at('/enters').map((r) => r.headers['x-event-id']).sort()).toEqual(expectedSent.sort());
    const { rows: throttled } = await world.db.query<{ event_id: string }>(`SELECT event_id FROM webhook_deliveries WHERE endpoint_id = $1 AND status = 'throttled'`, [enters]);
    expect(throttled.map((r) => r.event_id).sort()).toEqual(expectedThrottled.sort());
    expect(receiver.badSignatures).toEqual([]);
  }, 120_000);
});
