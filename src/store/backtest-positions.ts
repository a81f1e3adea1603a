import pg from 'pg';
import type { BacktestFix } from '../core/backtest.js';
import { connectionConfig } from './database.js';

/** The stored positions a backtest reads: a tenant's, in [from, to), of some devices or all. */
export interface BacktestRange {
  readonly tenantId: string;
  readonly from: Date;
  readonly to: Date;
  /** null: every device. */
  readonly deviceIds: readonly string[] | null;
}

const IN_RANGE = `tenant_id = $1 AND ts >= $2 AND ts < $3 AND ($4::text[] IS NULL OR device_id = ANY($4))`;
const params = (r: BacktestRange) => [r.tenantId, r.from, r.to, r.deviceIds];
/** Rows fetched from the cursor at a time: a few MB, and few round trips. */
const FETCH_ROWS = 20_000;

/** A session of its own for one backtest (in its thread): its lock ends with it. */
export async function openBacktestSession(databaseUrl: string): Promise<pg.Client> {
  const client = new pg.Client({ ...connectionConfig(databaseUrl), application_name: 'fencewire-backtest' });
  await client.connect();
  return client;
}

/**
 * Takes the tenant's backtest lock for this session (one backtest per tenant at a time, across
 * every API process); false when another session holds it. It is let go when the session ends.
 */
export async function lockTenantBacktest(client: pg.ClientBase, tenantId: string): Promise<boolean> {
  const { rows } = await client.query<{ locked: boolean }>(`SELECT pg_try_advisory_lock(hashtextextended('fencewire.backtest.' || $1, 0)) AS locked`, [tenantId]);
  return rows[0]?.locked === true;
}

/** The positions in the range, counted up to `max` + 1 (one more says there are too many). */
export async function countBacktestPositions(client: pg.ClientBase, range: BacktestRange, max: number): Promise<number> {
  const { rows } = await client.query<{ n: string }>(`SELECT count(*) AS n FROM (SELECT 1 FROM positions WHERE ${IN_RANGE} LIMIT $5) AS capped`, [...params(range), max + 1]);
  return Number(rows[0]?.n ?? 0);
}

/** The tenant's devices that have tags, with them (as the devices table holds them now). */
export async function backtestDeviceTags(client: pg.ClientBase, tenantId: string): Promise<Map<string, readonly string[]>> {
  const { rows } = await client.query<{ device_id: string; tags: string[] }>(`SELECT device_id, tags FROM devices WHERE tenant_id = $1 AND cardinality(tags) > 0`, [tenantId]);
  return new Map(rows.map((r) => [r.device_id, r.tags]));
}

/**
 * The range's fixes, by device and then time, in chunks from a cursor (in a transaction of its
 * own). The next chunk is asked for before this one is handed over, so that the database reads
 * while the caller computes.
 */
export async function* backtestFixes(client: pg.ClientBase, range: BacktestRange): AsyncGenerator<BacktestFix[]> {
  type Row = { device_id: string; ms: number; lat: number; lon: number; speed: number | null };
  const fetchChunk = () => client.query<Row>(`FETCH ${FETCH_ROWS} FROM backtest`).then((r) => r.rows);
  await client.query('BEGIN READ ONLY');
  let next: Promise<Row[]> | null = null;
  try {
    await client.query(`DECLARE backtest NO SCROLL CURSOR FOR
      SELECT device_id, (extract(epoch FROM ts) * 1000)::float8 AS ms, lat, lon, speed FROM positions WHERE ${IN_RANGE} ORDER BY device_id, ts`, params(range));
    next = fetchChunk();
    for (;;) {
      const rows: Row[] = await next;
      if (rows.length === 0) break;
      next = fetchChunk();
      yield rows.map((r) => ({ deviceId: r.device_id, ts: r.ms, lat: r.lat, lon: r.lon, speed: r.speed }));
    }
  } finally {
    // A chunk asked for and not taken (the caller stopped) is read and dropped before the commit.
    await next?.catch(() => undefined);
    await client.query('COMMIT').catch(() => undefined);
  }
}
