import { geofenceStore } from '../../src/store/geofence-store.js';
import { pack } from 'msgpackr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { envelope } from '../../src/core/event.js';
import { pythonJson } from '../../src/core/python-json.js';
import { notifyGeofencesChanged } from '../../src/bus/geofence-changes.js';
import { importGeofences } from '../../src/geofences/geofence-import.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { driveThrough, loadDrive, type DriveFix } from '../support/recorded-drive.js';
import { spawnFencewire } from './process.js';
import { oracleTransitions, sfNeighbourhoodsWorld, transitionsOf, type StoredEvent } from '../support/geofence-oracle.js';
import { countPositions, countUnpublished, silentLog, waitFor, type TestEnv } from '../support/setup.js';

const SF = { lat: 37.765, lon: -122.445 };
const munich = loadDrive('munich-car-1hz.json');
// Whole seconds, two hours ago: the drive lasts twenty minutes.
const START = Math.floor(Date.now() / 1000) * 1000 - 2 * 3600_000;
const drive1hz = driveThrough(munich, munich, SF, START);
const drive15s = driveThrough(loadDrive('munich-car-15s.json'), munich, SF, START);

let world: TestEnv;
let postgis = false;

async function events(deviceId: string): Promise<StoredEvent[]> {
  const result = await world.db.query<StoredEvent>(
    'SELECT id, type, device_id, occurred_at, data FROM events WHERE device_id = $1 ORDER BY occurred_at, seq', [deviceId],
  );
  return result.rows;
}

/** Publishes a drive as a device would: one report per message, in order. */
async function publishDrive(tenant: string, device: string, drive: DriveFix[]): Promise<void> {
  for (const f of drive) await world.publish(tenant, device, pack({ ts: f.ts, lat: f.lat, lon: f.lon }));
}

beforeAll(async () => {
  ({ world, postgis } = await sfNeighbourhoodsWorld());
});

afterAll(async () => {
  await world?.dispose();
});

describe('events - a recorded drive through real neighbourhoods', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer(world.config, silentLog);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('yields the enter/leave sequence that PostGIS ST_Covers gives, on events.> and in the events table', async () => {
    expect(postgis, 'PostGIS must be installed (scripts/services.sh --with-postgis)').toBe(true);
    const received: string[] = [];
    const sub = world.nc.subscribe(`${world.topology.eventsPrefix}sf.>`, { callback: (_err, msg) => void received.push(msg.string()) });
    await publishDrive('sf', 'car-1hz', drive1hz);
    await waitFor('the drive stored', async () => (await countPositions(world.db, `device_id = 'car-1hz'`)) === drive1hz.length);
    await waitFor('events published', async () => (await countUnpublished(world.db)) === 0);

    const stored = await events('car-1hz');
    const expected = await oracleTransitions(world.db, drive1hz);
    expect(expected.length).toBeGreaterThanOrEqual(4);
    expect(transitionsOf(stored)).toEqual(expected);

    await waitFor('events on the bus', () => received.length >= stored.length);
    sub.unsubscribe();
    // The envelope on the bus is the contract's compact JSON, field for field what was stored.
    const envelopes = stored.map((e) => JSON.parse(envelope({ id: e.id, type: e.type as never, tenantId: 'sf', deviceId: e.device_id, occurredAt: e.occurred_at.getTime(), data: e.data })));
    const onBus = received.filter((r) => r.includes('"car-1hz"')).map((r) => JSON.parse(r));
    const byId = (a: { id: string }, b: { id: string }) => (a.id < b.id ? -1 : 1);
    expect(onBus.sort(byId)).toEqual(envelopes.sort(byId));
    // Compact, ASCII only, written as Python writes it back (contract section 3).
    expect(received.every((r) => r === pythonJson(JSON.parse(r)) && /^[\x20-\x7e]*$/.test(r))).toBe(true);
  });

  it('misses no visit when the same drive reports only every 15 s: each neighbourhood is entered or crossed', async () => {
    await publishDrive('sf', 'car-15s', drive15s);
    await waitFor('the sparse drive stored', async () => (await countPositions(world.db, `device_id = 'car-15s'`)) === drive15s.length);
    await waitFor('its events', async () => (await events('car-15s')).length > 0);
    const dense = new Set((await events('car-1hz')).filter((e) => e.type === 'geofence.enter').map((e) => e.data.geofence_name));
    const sparse = new Set((await events('car-15s')).filter((e) => e.type === 'geofence.enter' || e.type === 'geofence.crossed').map((e) => e.data.geofence_name));
    expect(sparse).toEqual(dense);
  });
});

describe('events - crash safety', () => {
  it('kill -9 in the middle of a drive and a restart yield each event exactly once', async () => {
    const first = await spawnFencewire({ ...world.env, INGEST_ACK_WAIT_MS: '2000' });
    const publishing = publishDrive('sf', 'car-crash', drive1hz);
    await waitFor('part of the drive stored', async () => (await countPositions(world.db, `device_id = 'car-crash'`)) > 300);
    first.child.kill('SIGKILL');
    await first.exited;
    await publishing;
    const second = await spawnFencewire({ ...world.env, INGEST_ACK_WAIT_MS: '2000' });
    await waitFor('the whole drive stored', async () => (await countPositions(world.db, `device_id = 'car-crash'`)) === drive1hz.length, 45_000);
    await waitFor('every event published', async () => (await countUnpublished(world.db)) === 0);
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);

    // The same fixes, uninterrupted, gave car-1hz its events: the crashed run must give the same.
    const reference = transitionsOf(await events('car-1hz'));
    const crashed = await events('car-crash');
    expect(transitionsOf(crashed)).toEqual(reference);

    // On the bus: every message a distinct event, and every stored event there once.
    const info = await world.jsm.streams.info(world.topology.eventsStream);
    const ids: string[] = [];
    for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
      const msg = await world.jsm.streams.getMessage(world.topology.eventsStream, { seq });
      const body = msg?.json<{ id: string; device_id: string }>();
      if (body?.device_id === 'car-crash') ids.push(body.id);
    }
    expect(ids.length).toBe(new Set(ids).size);
    expect(ids.sort()).toEqual(crashed.map((e) => e.id).sort());
  });
});

describe('geofences - changes reach the running processor', () => {
  it('an import is in force within a second, without a restart', async () => {
    const server = await startServer(world.config, silentLog);
    try {
      const depot = { type: 'Feature', properties: { id: 'depot', name: 'Depot' }, geometry: { type: 'Point', coordinates: [-122.3, 37.8] } };
      await world.publish('late', 'van', pack({ ts: Date.now() - 5000, lat: 37.8, lon: -122.3 }));
      expect((await importGeofences(geofenceStore(world.db), 'late', { type: 'FeatureCollection', features: [{ ...depot, properties: { ...depot.properties, radius_m: 200 } }] }, { limits: world.config.quotas.geofences, geometry: null })).errors).toEqual([]);
      await notifyGeofencesChanged(world.nc, world.topology, 'late');
      await new Promise((resolve) => setTimeout(resolve, 1000));
      await world.publish('late', 'van', pack({ ts: Date.now() - 4000, lat: 37.8001, lon: -122.3 }));
      await waitFor('the enter event', async () => (await events('van')).some((e) => e.type === 'geofence.enter'), 5000);
      const [enter] = (await events('van')).filter((e) => e.type === 'geofence.enter');
      expect(enter?.data).toMatchObject({ geofence_id: 'depot', geofence_name: 'Depot' });
    } finally {
      await server.stop();
    }
  });
});
