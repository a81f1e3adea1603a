import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { checkOut, inTransaction } from './database.js';
import { FencewireError } from '../errors.js';

const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations/', import.meta.url));
// Any constant will do: it only has to be the same for every fencewire process.
const MIGRATION_LOCK = 0x66656e63;

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

/** The SQL files `NNN_name.sql` beside this module, in version order. */
export async function loadMigrations(dir = MIGRATIONS_DIR): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((f) => /^\d{3}_[a-z0-9_]+\.sql$/.test(f)).sort();
  return Promise.all(
    files.map(async (file) => ({
      version: Number(file.slice(0, 3)),
      name: file.slice(4, -4),
      sql: await readFile(`${dir}${file}`, 'utf8'),
    })),
  );
}

/**
 * Applies the migrations not yet recorded in `schema_migrations`, each in its own transaction,
 * under an advisory lock so that two processes starting together do not race. Returns the
 * versions applied; running it again applies nothing.
 */
export async function migrate(pool: pg.Pool, migrations?: Migration[]): Promise<number[]> {
  const all = migrations ?? (await loadMigrations());
  const client = await checkOut(pool);
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    const done = new Set((await client.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map((r) => r.version));
    const applied: number[] = [];
    for (const migration of all) {
      if (done.has(migration.version)) continue;
      await client.query('BEGIN');
      try {
        await client.query(migration.sql);
        await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [migration.version, migration.name]);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK');
        throw new FencewireError('migration_failed', `migration ${migration.version}_${migration.name} failed: ${(err as Error).message}`, { cause: err });
      }
      applied.push(migration.version);
    }
    return applied;
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
    client.release();
  }
}

/** True when `positions` is a TimescaleDB hypertable (else it is natively partitioned). */
export async function isHypertable(pool: pg.Pool): Promise<boolean> {
  const result = await pool.query(`SELECT EXISTS (
      SELECT 1 FROM pg_extension WHERE extname = 'timescaledb') AS installed`);
  if (!result.rows[0].installed) return false;
  const hyper = await pool.query(`SELECT 1 FROM timescaledb_information.hypertables WHERE hypertable_name = 'positions'`);
  return hyper.rowCount !== 0;
}

/** True when the server can load TimescaleDB: installed, and in shared_preload_libraries. */
export async function timescaleLoadable(db: pg.Pool | pg.ClientBase): Promise<boolean> {
  const result = await db.query(`SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb')
    AND current_setting('shared_preload_libraries') LIKE '%timescaledb%' AS loadable`);
  return result.rows[0].loadable === true;
}

/**
 * A database first migrated on plain PostgreSQL keeps a natively partitioned positions table
 * after TimescaleDB is added. This makes it the hypertable migration 001 would have made,
 * rows and all, in one transaction: writers wait on the lock and then retry their batch (they
 * retry until it commits), so nothing is lost, but for a large table run it with ingest stopped.
 * Returns the rows copied, or null when there was nothing to convert.
 */
export async function convertPositionsToHypertable(pool: pg.Pool, chunkIntervalHours: number): Promise<number | null> {
  if (!(await timescaleLoadable(pool)) || (await isHypertable(pool))) return null;
  return inTransaction(pool, async (client) => {
    await client.query('CREATE EXTENSION IF NOT EXISTS timescaledb');
    await client.query('LOCK TABLE positions IN ACCESS EXCLUSIVE MODE');
    await client.query('ALTER TABLE positions RENAME TO positions_partitioned');
    await client.query('ALTER TABLE positions_partitioned RENAME CONSTRAINT positions_tenant_device_ts_key TO positions_partitioned_key');
    await client.query(`CREATE TABLE positions (LIKE positions_partitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS,
      CONSTRAINT positions_tenant_device_ts_key UNIQUE (tenant_id, device_id, ts))`);
    await client.query(`SELECT create_hypertable('positions', 'ts', chunk_time_interval => make_interval(hours => $1))`, [chunkIntervalHours]);
    await client.query(`ALTER TABLE positions SET (timescaledb.compress, timescaledb.compress_segmentby = 'tenant_id, device_id', timescaledb.compress_orderby = 'ts DESC')`);
    const copied = await client.query('INSERT INTO positions SELECT * FROM positions_partitioned');
    await client.query('DROP TABLE positions_partitioned');
    return copied.rowCount ?? 0;
  });
}
