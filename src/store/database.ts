import { userInfo } from 'node:os';
import pg from 'pg';
import type { Logger } from 'pino';

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

/**
 * Runs `work` in a transaction on a pooled connection: committed when it resolves, rolled back
 * when it throws. A connection that failed mid-transaction may be broken, so it is destroyed
 * rather than returned to the pool.
 */
export async function inTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await checkOut(pool);
  let failure: Error | undefined;
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
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
