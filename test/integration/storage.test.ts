import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isHypertable, loadMigrations, migrate } from '../../src/store/migrate.js';
import { PgBatchStore } from '../../src/store/batch-store.js';
import { applyStoragePolicy, partitionName } from '../../src/store/storage-policies.js';
import type { Fix } from '../../src/decode/fix.js';
import { countPositions, setup, timescaleEnabled, type TestEnv } from './setup.js';

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
    const store = new PgBatchStore(world.db);
    const future = now + 30 * DAY; // no partition yet: lands in the default one
    await store.writeBatch({ fixes: [fix(future), fix(future + 1000)], deviceStates: [], events: [] });
    expect(Number((await world.db.query('SELECT count(*) FROM positions_default')).rows[0].count)).toBe(2);

    await applyStoragePolicy(world.db, { ...world.config.storage, partitionAheadDays: 31 }, now);
    expect(await partitions()).toContain(partitionName(future));
    expect(Number((await world.db.query('SELECT count(*) FROM positions_default')).rows[0].count)).toBe(0);
    expect(Number((await world.db.query(`SELECT count(*) FROM ${partitionName(future)}`)).rows[0].count)).toBe(2);
  });

  it.skipIf(timescale)('drops partitions and default rows past retention, and keeps the rest (plain PostgreSQL only; skipped where TimescaleDB is loaded)', async () => {
    const now = Date.now();
    const store = new PgBatchStore(world.db);
    // 'kept' lies 8 days ahead: past the partitions made so far, so in the default partition,
    // and still inside retention ten days from now.
    await store.writeBatch({ fixes: [fix(now - 400 * DAY, 'old'), fix(now - 1000, 'recent'), fix(now + 8 * DAY, 'kept')], deviceStates: [], events: [] });
    // Ten days from now, with 3 days of retention, today's partition has expired.
    const later = now + 10 * DAY;
    const report = await applyStoragePolicy(world.db, { retentionDays: 3, partitionAheadDays: 7, compressAfterDays: 1 }, later);
    expect(report.dropped).toContain(partitionName(now));
    expect(await countPositions(world.db, `device_id = 'old'`)).toBe(0);
    expect(await countPositions(world.db, `device_id = 'recent'`)).toBe(0);
    expect(await countPositions(world.db, `device_id = 'kept'`)).toBe(1);
    expect(await partitions()).toContain(partitionName(later + 7 * DAY));
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
    const store = new PgBatchStore(world.db);
    const ts = Date.now() - 1000;
    await store.writeBatch({ fixes: [fix(ts, 'ts-1'), fix(ts, 'ts-1')], deviceStates: [], events: [] });
    await store.writeBatch({ fixes: [fix(ts, 'ts-1')], deviceStates: [], events: [] });
    expect(await countPositions(world.db, `device_id = 'ts-1'`)).toBe(1);
  });
});
