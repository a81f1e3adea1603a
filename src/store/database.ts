import { userInfo } from 'node:os';
import pg from 'pg';
import type { Logger } from 'pino';
import type { RefusedRow } from '../core/ingest-ports.js';
import { UnstorableError } from '../errors.js';
import { forMilliseconds, retryUpTo } from '../retry.js';

/**
 * pg settings for a URL. A URL without a user name means the OS user, as psql does; pg itself
 * would read $USER, which is unset under some service managers and CI runners.
 */
export function connectionConfig(databaseUrl: string): pg.ClientConfig {
  const url = new URL(databaseUrl);
  if (url.username === '') url.username = encodeURIComponent(process.env.PGUSER || userInfo().username);
  return { connectionString: url.toString() };
}

function adminConfig(databaseUrl: string): { config: pg.ClientConfig; name: string } {
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.slice(1));
  url.pathname = '/postgres';
  return { config: { ...connectionConfig(url.toString()), connectionTimeoutMillis: 5000 }, name };
}

/** Quotes an SQL identifier (a database, table or partition name). */
export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * A connection pool whose idle-client errors (the server restarting, a network cut) are logged
 * instead of crashing the process: the next query simply gets a fresh connection.
 */
export function createPool(databaseUrl: string, log: Logger, max = 4, settings: Pick<pg.PoolConfig, 'idle_in_transaction_session_timeout'> = {}): pg.Pool {
  const pool = new pg.Pool({ ...connectionConfig(databaseUrl), max, connectionTimeoutMillis: 5000, ...settings });
  pool.on('error', (err) => log.warn({ err: err.message }, 'idle database connection failed'));
  return pool;
}

/** Runs `work` on a pool of its own, ended afterwards whatever happens: for one-shot commands. */
export async function withPool<T>(databaseUrl: string, log: Logger, work: (pool: pg.Pool) => Promise<T>): Promise<T> {
  const pool = createPool(databaseUrl, log);
  try {
    return await work(pool);
  } finally {
    await pool.end();
  }
}

/**
 * Waits until the database server answers (its `postgres` database, so before `migrate` has
 * created ours), trying again with back-off for up to `waitMs`: in compose every service starts
 * at once, and a process that gave up at once stayed down.
 */
export async function waitForDatabaseServer(databaseUrl: string, log: Logger, waitMs: number): Promise<void> {
  const outcome = await retryUpTo(async () => {
    const admin = new pg.Client(adminConfig(databaseUrl).config);
    try {
      await admin.connect();
      await admin.query('SELECT 1');
    } finally {
      await admin.end().catch(() => undefined);
    }
  }, (err, _attempt, delayMs) => log.warn({ err: err.message, retryInMs: delayMs }, 'PostgreSQL is not answering yet; trying again'), forMilliseconds(waitMs));
  if (!outcome.done) throw outcome.error;
}

/** Creates the database named in `databaseUrl` when it does not exist yet (`fencewire migrate`). */
export async function ensureDatabase(databaseUrl: string): Promise<boolean> {
  const { config, name } = adminConfig(databaseUrl);
  if (name === '') return false;
  const admin = new pg.Client(config);
  await admin.connect();
  try {
    const found = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (found.rowCount !== 0) return false;
    try {
      await admin.query(`CREATE DATABASE ${quoteIdentifier(name)}`);
    } catch (err) {
      // Two migrators racing: the other one created it first.
      if ((err as { code?: string }).code !== '42P04') throw err;
      return false;
    }
    return true;
  } finally {
    await admin.end();
  }
}

/** Drops a database (tests clean up after themselves with it). */
export async function dropDatabase(databaseUrl: string): Promise<void> {
  const { config, name } = adminConfig(databaseUrl);
  const admin = new pg.Client(config);
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${quoteIdentifier(name)} WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}

/** Resolves once the database answers a trivial query: the health check. */
export async function ping(pool: pg.Pool): Promise<void> {
  await pool.query('SELECT 1');
}

/**
 * Runs `work` in a transaction on a pooled connection: committed when it resolves (or, with
 * `end` ROLLBACK, rolled back all the same: a probe that must write nothing), rolled back when it
 * throws. A connection that failed mid-transaction may be broken, so it is destroyed rather than
 * returned to the pool.
 */
export async function inTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>, end: 'COMMIT' | 'ROLLBACK' = 'COMMIT'): Promise<T> {
  const client = await checkOut(pool);
  let failure: Error | undefined;
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query(end);
    return result;
  } catch (err) {
    failure = err as Error;
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release(failure);
  }
}

/**
 * A pooled connection for work of several statements. The pool listens for errors of idle
 * connections only: a connection that the server drops while it is checked out (a restart, a
 * network cut) emits 'error' on itself, which would end the process with no listener there. Here
 * the error is left to the query in progress, which fails with it, and released with the
 * connection, which the pool then destroys instead of reusing.
 */
export async function checkOut(pool: pg.Pool): Promise<pg.PoolClient> {
  const client = await pool.connect();
  let broken: Error | undefined;
  const onError = (err: Error) => {
    broken = err;
  };
  client.on('error', onError);
  const release = client.release.bind(client);
  client.release = (err?: Error | boolean) => {
    client.removeListener('error', onError);
    release(err ?? broken);
  };
  return client;
}

/**
 * `work` in a transaction that first takes the advisory lock named `name`: processes that check
 * a count and then write (quotas) take turns, so that two cannot both pass the same check.
 */
export function inLockedTransaction<T>(pool: pg.Pool, name: string, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  return inTransaction(pool, async (client) => {
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [name]);
    return work(client);
  });
}

/**
 * SQLSTATE classes of errors caused by the data written rather than by the connection or the
 * server's state: data exceptions (22), integrity violations (23) and program limits (54).
 */
const DATA_ERROR_CLASSES = new Set(['22', '23', '54']);

/** True when PostgreSQL refused a statement for the data it carried: retrying it unchanged fails again. */
export function isDataError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.length === 5 && DATA_ERROR_CLASSES.has(code.slice(0, 2));
}

/** `err` as an UnstorableError when it is a data error, unchanged otherwise. */
export function classifyWriteError(err: unknown): unknown {
  if (!isDataError(err)) return err;
  const { code, message } = err as { code: string; message: string };
  return new UnstorableError(`PostgreSQL refused the data (SQLSTATE ${code}): ${message}`, { cause: err });
}

/**
 * `write(items)`; when PostgreSQL refuses that for its data, `write` of each item alone, in
 * order, and an item refused alone goes to `refused` (which may store it otherwise): one bad row
 * never holds up the rest of its batch. Any other error is thrown. The results are concatenated.
 */
export async function writeApartOnDataError<T, R>(
  items: readonly T[], write: (items: readonly T[]) => Promise<R[]>, refused: (item: T, err: Error) => Promise<R[]>,
): Promise<R[]> {
  try {
    return await write(items);
  } catch (err) {
    if (!isDataError(err)) throw err;
  }
  const results: R[] = [];
  for (const item of items) {
    try {
      results.push(...await write([item]));
    } catch (err) {
      if (!isDataError(err)) throw err;
      results.push(...await refused(item, err as Error));
    }
  }
  return results;
}


/**
 * The rows among `count` that PostgreSQL refuses, found by writing ranges of them (`write(from,
 * to)`) inside a transaction that is rolled back at the end, halving every range that fails
 * with a data error: a few statements for a few bad rows, never one per row of a good batch.
 * Nothing is written. Another kind of error (the connection lost) is thrown.
 */
export async function refusedRows(pool: pg.Pool, count: number, write: (client: pg.PoolClient, from: number, to: number) => Promise<unknown>): Promise<RefusedRow[]> {
  return inTransaction(pool, async (client) => {
    const refused: RefusedRow[] = [];
    const visit = async (from: number, to: number): Promise<void> => {
      if (from >= to) return;
      await client.query('SAVEPOINT probe');
      try {
        await write(client, from, to);
        await client.query('RELEASE SAVEPOINT probe');
        return;
      } catch (err) {
        await client.query('ROLLBACK TO SAVEPOINT probe');
        if (!isDataError(err)) throw err;
        if (to - from === 1) return void refused.push({ index: from, reason: (err as Error).message });
      }
      const middle = from + Math.floor((to - from) / 2);
      await visit(from, middle);
      await visit(middle, to);
    };
    await visit(0, count);
    return refused;
  }, 'ROLLBACK');
}
