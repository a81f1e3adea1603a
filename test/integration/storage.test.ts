import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convertPositionsToHypertable, isHypertable, loadMigrations, migrate } from '../../src/store/migrate.js';
import { applyStoragePolicy, partitionName, timescaleJobStats } from '../../src/store/storage-policies.js';
import type { Fix } from '../../src/core/fix.js';
import { countPositions, setup, storeBatch, timescaleEnabled, type TestEnv } from '../support/setup.js';

const DAY = 24 * 60 * 60 * 1000;
let world: TestEnv;

beforeAll(async () => {
  world = await setup();
});

afterAll(async () => {
  await world?.dispose();
});

function fix(ts: number, deviceId = 'veh-1'): Fix {
  return {
    tenantId: 'acme', deviceId, ts, lat: 48, lon: 11, speed: null, heading: null, altitude: null, accuracy: null,
    satellites: null, ignition: null, odometer: null, attributes: null,
  };
}

async function partitions(): Promise<string[]> {
  const result = await world.db.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
      WHERE i.inhparent = 'positions'::regclass ORDER BY 1`,
  );
  return result.rows.map((r) => r.name);
}

const timescale = await timescaleEnabled();

describe('storage (native partitions; the partition tests are skipped where TimescaleDB is loaded) - positions are range-partitioned by day', () => {

  it.skipIf(timescale)('creates daily partitions ahead and a default one for older fixes (plain PostgreSQL only; skipped where TimescaleDB is loaded)', async () => {
    const now = Date.now();
    const names = await partitions();
    expect(names).toContain('positions_default');
    for (let day = -1; day <= world.config.storage.partitionAheadDays; day++) expect(names).toContain(partitionName(now + day * DAY));
  });

  it.skipIf(timescale)('moves late fixes out of the default partition when their day gets a partition (plain PostgreSQL only; skipped where TimescaleDB is loaded)', async () => {
    const now = Date.now();
    const future = now + 30 * DAY; // no partition yet: lands in the default one
    await storeBatch(world.db, { fixes: [fix(future), fix(future + 1000)] });
    expect(Number((await world.db.query('SELECT count(*) FROM positions_default')).rows[0].count)).toBe(2);

    await applyStoragePolicy(world.db, { ...world.config.storage, partitionAheadDays: 31 }, now);
    expect(await partitions()).toContain(partitionName(future));
    expect(Number((await world.db.query('SELECT count(*) FROM positions_default')).rows[0].count)).toBe(0);
    expect(Number((await world.db.query(`SELECT count(*) FROM ${partitionName(future)}`)).rows[0].count)).toBe(2);
  });

  it.skipIf(timescale)('drops partitions and default rows past retention, and keeps the rest (plain PostgreSQL only; skipped where TimescaleDB is loaded)', async () => {
    const now = Date.now();
    // 'kept' lies 8 days ahead: past the partitions made so far, so in the default partition,
    // and still inside retention ten days from now.
    await storeBatch(world.db, { fixes: [fix(now - 400 * DAY, 'old'), fix(now - 1000, 'recent'), fix(now + 8 * DAY, 'kept')] });
    // Ten days from now, with 3 days of retention, today's partition has expired.
    const later = now + 10 * DAY;
    const report = await applyStoragePolicy(world.db, { ...world.config.storage, retentionDays: 3, partitionAheadDays: 7, compressAfterDays: 1 }, later);
    expect(report.dropped).toContain(partitionName(now));
    expect(await countPositions(world.db, `device_id = 'old'`)).toBe(0);
    expect(await countPositions(world.db, `device_id = 'recent'`)).toBe(0);
    expect(await countPositions(world.db, `device_id = 'kept'`)).toBe(1);
    expect(await partitions()).toContain(partitionName(later + 7 * DAY));
  });

  it('deletes published events, finished deliveries, bodies no delivery needs and inbound events past their retention, never unpublished or pending ones', async () => {
    const old = new Date(Date.now() - 40 * DAY).toISOString();
    // Published means at or below its partition's watermark (published_seq 10 here).
    const lane = (await world.db.query(`INSERT INTO ingest_partitions (partitions, partition, committed_seq, published_seq) VALUES (4, 3, 20, 10) RETURNING id`)).rows[0].id;
    await world.db.query(
      `INSERT INTO events (id, tenant_id, device_id, type, occurred_at, data, lane, source_seq) VALUES
         ('evt_old_published', 'acme', 'v', 'ignition.on', $1, '{}', $2, 10), ('evt_old_unpublished', 'acme', 'v', 'ignition.on', $1, '{}', $2, 11),
         ('evt_new', 'acme', 'v', 'ignition.on', now(), '{}', $2, 5)`, [old, lane]);
    await world.db.query(`INSERT INTO webhook_endpoints (id, tenant_id, url, events, secret) VALUES ('whk_r', 'acme', 'https://example.com/h', '{*}', 's')`);
    await world.db.query(
      `INSERT INTO webhook_deliveries (id, endpoint_id, tenant_id, event_id, event_type, body, status, created_at, completed_at) VALUES
         ('dlv_old_done', 'whk_r', 'acme', 'e1', 't', '{}', 'succeeded', $1, $1), ('dlv_old_failed', 'whk_r', 'acme', 'e2', 't', '{}', 'failed', $1, $1),
         ('dlv_old_pending', 'whk_r', 'acme', 'e3', 't', '{}', 'pending', $1, NULL), ('dlv_new_done', 'whk_r', 'acme', 'e4', 't', '{}', 'succeeded', now(), now())`, [old]);
    await world.db.query(`INSERT INTO webhook_attempts (delivery_id, attempt, started_at, latency_ms) VALUES ('dlv_old_done', 1, $1, 5)`, [old]);
    await world.db.query(`INSERT INTO inbound_events (tenant_id, received_at, body) VALUES ('acme', $1, '{}'), ('acme', now(), '{}')`, [old]);
    // Bodies: e1's deliveries go, so does its body; e3's delivery is pending; e9's is new.
    await world.db.query(`INSERT INTO webhook_bodies (event_id, body, created_at) VALUES ('e1', '{}', $1), ('e3', '{}', $1), ('e9', '{}', now())`, [old]);

    const report = await applyStoragePolicy(world.db, { ...world.config.storage, eventsRetentionDays: 30, deliveriesRetentionDays: 30, inboundRetentionDays: 30 });
    expect(report.deleted).toEqual({ events: 1, webhookDeliveries: 2, webhookBodies: 1, inboundEvents: 1 });
    expect((await world.db.query('SELECT event_id FROM webhook_bodies ORDER BY 1')).rows.map((r) => r.event_id)).toEqual(['e3', 'e9']);
    const ids = async (sql: string) => (await world.db.query<{ id: string }>(sql)).rows.map((r) => r.id).sort();
    expect(await ids("SELECT id FROM events WHERE tenant_id = 'acme'")).toEqual(['evt_new', 'evt_old_unpublished']);
    expect(await ids("SELECT id FROM webhook_deliveries WHERE endpoint_id = 'whk_r'")).toEqual(['dlv_new_done', 'dlv_old_pending']);
    expect(await ids("SELECT delivery_id AS id FROM webhook_attempts")).toEqual([]);
    expect((await world.db.query("SELECT 1 FROM inbound_events WHERE tenant_id = 'acme'")).rowCount).toBe(1);
  });

  it('runs every migration once: a second migrate applies nothing', async () => {
    expect(await migrate(world.db)).toEqual([]);
    const versions = (await world.db.query('SELECT version FROM schema_migrations ORDER BY 1')).rows.map((r) => r.version);
    expect(versions).toEqual((await loadMigrations()).map((m) => m.version));
    expect(versions.length).toBeGreaterThanOrEqual(7);
  });
});

describe('storage (TimescaleDB, runs only where the extension is installed and preloaded) - hypertable with compression and retention', () => {
  it.skipIf(!timescale)('makes positions a hypertable with compression and retention policies (runs only where TimescaleDB is installed and preloaded)', async () => {
    expect(await isHypertable(world.db)).toBe(true);
    const jobs = await world.db.query(
      `SELECT proc_name, config FROM timescaledb_information.jobs WHERE hypertable_name = 'positions' ORDER BY proc_name`,
    );
    expect(jobs.rows.map((r) => r.proc_name)).toEqual(['policy_compression', 'policy_retention']);
    const ts = Date.now() - 1000;
    await storeBatch(world.db, { fixes: [fix(ts, 'ts-1'), fix(ts, 'ts-1')] });
    await storeBatch(world.db, { fixes: [fix(ts, 'ts-1')] });
    expect(await countPositions(world.db, `device_id = 'ts-1'`)).toBe(1);
  });
  it.skipIf(!timescale)('creates the policies once and changes a setting in place: same job ids, history kept (runs only where TimescaleDB is installed and preloaded)', async () => {
    const jobs = async () => (await world.db.query<{ job_id: number; proc_name: string; config: Record<string, string> }>(
      `SELECT job_id, proc_name, config FROM timescaledb_information.jobs WHERE hypertable_name = 'positions' ORDER BY proc_name`)).rows;
    const before = await jobs();
    const again = await applyStoragePolicy(world.db, world.config.storage);
    expect(again.created).toEqual([]);
    expect(await jobs()).toEqual(before);
    const changed = await applyStoragePolicy(world.db, { ...world.config.storage, retentionDays: 120, chunkIntervalHours: 6 });
    expect(changed.created).toEqual([expect.stringMatching(/^policy_retention drop_after changed to 120 days/), 'chunk interval set to 6 hours']);
    const after = await jobs();
    expect(after.map((j) => j.job_id)).toEqual(before.map((j) => j.job_id));
    expect(after.find((j) => j.proc_name === 'policy_retention')?.config.drop_after).toBe('120 days');
    const interval = await world.db.query(`SELECT time_interval FROM timescaledb_information.dimensions WHERE hypertable_name = 'positions'`);
    expect(interval.rows[0].time_interval).toMatchObject({ hours: 6 });
  });

  it.skipIf(!timescale)('reports the jobs\' last runs from job_stats (runs only where TimescaleDB is installed and preloaded)', async () => {
    const stats = await timescaleJobStats(world.db);
    expect(stats.map((s) => s.proc).sort()).toEqual(['policy_compression', 'policy_retention']);
    for (const s of stats) expect([null, 'Success', 'Failed']).toContain(s.lastRunStatus);
  });

  it.skipIf(!timescale)('converts a positions table first made on plain PostgreSQL into a hypertable, rows kept (runs only where TimescaleDB is installed and preloaded)', async () => {
    const converted = await setup();
    try {
      // The table migration 001 makes where TimescaleDB cannot be loaded, with a row in it.
      await converted.db.query(`DROP TABLE positions;
        CREATE TABLE positions (tenant_id text NOT NULL, device_id text NOT NULL, ts timestamptz NOT NULL, lat double precision NOT NULL,
          lon double precision NOT NULL, speed real, heading real, altitude real, accuracy real, satellites smallint, ignition boolean,
          odometer double precision, attributes jsonb, received_at timestamptz NOT NULL DEFAULT now(),
          CONSTRAINT positions_tenant_device_ts_key UNIQUE (tenant_id, device_id, ts)) PARTITION BY RANGE (ts);
        CREATE TABLE positions_default PARTITION OF positions DEFAULT;`);
      const ts = Date.now() - 5000;
      await storeBatch(converted.db, { fixes: [fix(ts, 'before-1'), fix(ts, 'before-2')] });
      expect(await isHypertable(converted.db)).toBe(false);
      expect(await convertPositionsToHypertable(converted.db, 24)).toBe(2);
      expect(await isHypertable(converted.db)).toBe(true);
      expect(await countPositions(converted.db, `device_id LIKE 'before-%'`)).toBe(2);
      expect(await convertPositionsToHypertable(converted.db, 24)).toBeNull();
      // Unique on (tenant, device, ts) still: the same fix again is not stored twice.
      await storeBatch(converted.db, { fixes: [fix(ts, 'before-2')] });
      expect(await countPositions(converted.db, `device_id LIKE 'before-%'`)).toBe(2);
    } finally {
      await converted.dispose();
    }
  });
});
