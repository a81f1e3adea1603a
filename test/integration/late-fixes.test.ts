import { pack } from 'msgpackr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey, keyStore } from '../../src/store/key-store.js';
import { notifyGeofencesChanged } from '../../src/bus/geofence-changes.js';
import { seededRandom } from '../../src/simulate/random.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { oracleTransitions, sfNeighbourhoodsWorld, transitionsOf, type StoredEvent } from '../support/geofence-oracle.js';
import { driveThrough, loadDrive, type DriveFix } from '../support/recorded-drive.js';
import { countPositions, countUnpublished, silentLog, waitFor, type TestEnv } from '../support/setup.js';
import { spawnFencewire } from './process.js';

const SF = { lat: 37.765, lon: -122.445 };
const munich = loadDrive('munich-car-1hz.json');
const START = Math.floor(Date.now() / 1000) * 1000 - 2 * 3600_000;
const drive = driveThrough(munich, munich, SF, START);
// A 1 Hz device delayed up to five minutes is up to 300 fixes behind its newest: the history
// must hold them (LATE_FIX_HISTORY; the default keeps 64).
const HISTORY = { LATE_FIX_HISTORY: '400' };

let world: TestEnv;
let postgis = false;

/**
 * The drive as a device with patchy coverage sends it: three tunnels, after each of which the
 * newest fix comes first and the buffer after it, in order; and a tenth of the other fixes
 * delayed by up to five minutes (gateways retrying). Seeded: the same disorder every run.
 */
function disordered(fixes: readonly DriveFix[], seed: number): DriveFix[] {
  const random = seededRandom(seed);
  const arrival = fixes.map((f) => f.ts + (random() < 0.1 ? Math.floor(random() * 300_000) : 0));
  for (const [from, length] of [[150, 90], [520, 150], [900, 60]] as const) {
    const reconnect = fixes[from + length]?.ts ?? 0;
    for (let i = from; i < from + length; i++) arrival[i] = reconnect + (i - from + 1);
  }
  return fixes.map((f, i) => ({ f, at: arrival[i] as number })).sort((a, b) => a.at - b.at).map((x) => x.f);
}

async function current(deviceId: string): Promise<StoredEvent[]> {
  const { rows } = await world.db.query<StoredEvent>(
    'SELECT id, type, device_id, occurred_at, data FROM events WHERE device_id = $1 AND retracted_by IS NULL AND type <> $2 ORDER BY occurred_at, seq', [deviceId, 'event.retracted']);
  return rows;
}

/** Every event but position bookkeeping, as `<time> <type> <geofence or ->`, sorted. */
const signature = (events: readonly StoredEvent[]) =>
  events.map((e) => `${e.occurred_at.toISOString()} ${e.type} ${(e.data.geofence_name as string | undefined) ?? '-'}`).sort();

async function publish(deviceId: string, fixes: readonly DriveFix[]): Promise<void> {
  for (const f of fixes) await world.publish('sf', deviceId, pack({ ts: f.ts, lat: f.lat, lon: f.lon }));
}

async function settled(deviceId: string, count: number): Promise<void> {
  await waitFor(`${deviceId} stored`, async () => (await countPositions(world.db, `device_id = '${deviceId}'`)) === count, 60_000);
  await waitFor('every event published', async () => (await countUnpublished(world.db)) === 0, 30_000);
}

beforeAll(async () => {
  ({ world, postgis } = await sfNeighbourhoodsWorld(HISTORY));
});

afterAll(async () => {
  await world?.dispose();
});

describe('late fixes - a drive with tunnels and delays through real neighbourhoods', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer(world.config, silentLog);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('nets the same events as the ordered drive, and the transitions PostGIS gives by fix time, with corrections on the bus', async () => {
    expect(postgis, 'PostGIS must be installed (scripts/services.sh --with-postgis)').toBe(true);
    const late = disordered(drive, 20261202);
    expect(late.some((f, i) => i > 0 && f.ts < (late[i - 1] as DriveFix).ts)).toBe(true);
    const received: string[] = [];
    const sub = world.nc.subscribe(`${world.topology.eventsPrefix}sf.>`, { callback: (_err, msg) => void received.push(msg.string()) });
    await publish('car-ordered', drive);
    await publish('car-late', late);
    await settled('car-ordered', drive.length);
    await settled('car-late', drive.length);

    const ordered = await current('car-ordered');
    const corrected = await current('car-late');
    expect(transitionsOf(corrected)).toEqual(await oracleTransitions(world.db, drive));
    expect(signature(corrected)).toEqual(signature(ordered));

    // The corrections were made, and said so: late events and retractions, in the table and on the bus.
    const { rows: [counts] } = await world.db.query<{ late: number; retracted: number; retractions: number }>(
      `SELECT count(*) FILTER (WHERE late)::int AS late, count(*) FILTER (WHERE retracted_by IS NOT NULL)::int AS retracted,
              count(*) FILTER (WHERE type = 'event.retracted')::int AS retractions FROM events WHERE device_id = 'car-late'`);
    expect(counts?.late).toBeGreaterThan(0);
    expect(counts?.retractions).toBeGreaterThan(0);
    expect(counts?.retracted).toBe(counts?.retractions);
    await waitFor('the corrections on the bus', () => received.filter((r) => r.includes('"car-late"') && r.includes('"type":"event.retracted"')).length === counts?.retractions);
    sub.unsubscribe();
    const lateOnBus = received.filter((r) => r.includes('"car-late"') && r.includes('"late":true'));
    expect(lateOnBus.length).toBe(counts?.late);
    expect(lateOnBus.every((r) => /"occurred_at":"[^"]+","late":true,"data":/.test(r))).toBe(true);
  });

  it('answers GET /v1/events with the current truth, and everything with include_retracted=true', async () => {
    const { key } = await createApiKey(keyStore(world.db), 'sf');
    const get = async (query: string) => (await fetch(`http://127.0.0.1:${server.httpPort}/v1/events?device_id=car-late&limit=1000${query}`, { headers: { 'x-integration-key': key } })).json() as Promise<{ count: number; results: { id: string; type: string; late?: boolean; retracted_by?: string | null }[] }>;
    const truth = await get('');
    expect(truth.results.map((e) => e.id).sort()).toEqual((await current('car-late')).map((e) => e.id).sort());
    expect(truth.results.some((e) => e.late === true)).toBe(true);
    const everything = await get('&include_retracted=true');
    const retractions = everything.results.filter((e) => e.type === 'event.retracted');
    const withdrawn = everything.results.filter((e) => typeof e.retracted_by === 'string');
    expect(withdrawn.map((e) => e.retracted_by).sort()).toEqual(retractions.map((e) => e.id).sort());
    expect(everything.count).toBe(truth.count + retractions.length + withdrawn.length);
    expect((await get('&include_retracted=yes'))).toMatchObject({ error: { code: 'invalid_request' } });
  });

  it('stores a fix older than the window and derives nothing from it, counting it too late', async () => {
    // A fix of the drive: inside a neighbourhood, so that, were it taken in, it would enter and leave.
    const inside = drive[600] as DriveFix;
    const setWindow = async (rules: string) => {
      await world.db.query(`INSERT INTO tenants (id, rules) VALUES ('sf', $1) ON CONFLICT (id) DO UPDATE SET rules = excluded.rules`, [rules]);
      // A tenant's rules are read with its geofences: the notice makes the processor reload both.
      await notifyGeofencesChanged(world.nc, world.topology, 'sf');
      await new Promise((resolve) => setTimeout(resolve, 1000));
    };
    await setWindow('{"lateFixWindowS": 60}');
    await world.publish('sf', 'car-window', pack({ ts: START + 3_600_000, lat: 37.0, lon: -122.0 }));
    await world.publish('sf', 'car-window', pack({ ts: START + 3_600_000 - 120_000, lat: inside.lat, lon: inside.lon }));
    await settled('car-window', 2);
    expect(await current('car-window')).toEqual([]);
    await setWindow('{}');
    const metrics = await (await fetch(`http://127.0.0.1:${server.httpPort}/metrics`)).text();
    expect(metrics).toMatch(/fencewire_late_fixes_total\{outcome="too_late"\} [1-9]/);
    expect(metrics).toMatch(/fencewire_late_fixes_total\{outcome="corrected"\} [1-9]/);
  });
});

describe('late fixes - crash safety', () => {
  it('kill -9 after a checkpoint, between a tunnel\'s newest fix and its buffer, and a restart net the ordered drive\'s events, each once', async () => {
    const late = disordered(drive, 7);
    // Up to the second tunnel's reconnecting fix: its buffer comes after the restart, older
    // than everything the new processor's checkpoint holds.
    const reconnect = late.indexOf(drive[670] as DriveFix) + 1;
    const first = await spawnFencewire({ ...world.env, ...HISTORY, INGEST_ACK_WAIT_MS: '2000', INGEST_CHECKPOINT_MS: '200' });
    await publish('car-crash', late.slice(0, reconnect));
    await waitFor('the first part stored', async () => (await countPositions(world.db, `device_id = 'car-crash'`)) === reconnect);
    await waitFor('the first part checkpointed', async () => {
      const { rows } = await world.db.query<{ ts: string }>(`SELECT state::jsonb->'lastFix'->>'ts' AS ts FROM device_state WHERE device_id = 'car-crash'`);
      return Number(rows[0]?.ts) === (drive[670] as DriveFix).ts;
    });
    first.child.kill('SIGKILL');
    await first.exited;
    const second = await spawnFencewire({ ...world.env, ...HISTORY, INGEST_ACK_WAIT_MS: '2000' });
    await publish('car-crash', late.slice(reconnect));
    await settled('car-crash', drive.length);
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
    expect(signature(await current('car-crash'))).toEqual(signature(await current('car-ordered')));

    // On the bus: every message a distinct event, and every stored event there once.
    const info = await world.jsm.streams.info(world.topology.eventsStream);
    const ids: string[] = [];
    for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
      const body = (await world.jsm.streams.getMessage(world.topology.eventsStream, { seq }))?.json<{ id: string; device_id: string }>();
      if (body?.device_id === 'car-crash') ids.push(body.id);
    }
    const { rows } = await world.db.query<{ id: string }>(`SELECT id FROM events WHERE device_id = 'car-crash'`);
    expect(ids.length).toBe(new Set(ids).size);
    expect(ids.sort()).toEqual(rows.map((r) => r.id).sort());
  });
});
