import type pg from 'pg';
import type { Fix } from '../decode/fix.js';

/** Where ingest puts its batches: one transaction, committed before anything is acknowledged. */
export interface PositionStore {
  /** Stores the fixes (a fix already stored is skipped) and moves each device's latest position. */
  writeBatch(fixes: readonly Fix[]): Promise<{ inserted: number }>;
}

// One statement per batch whatever its size: column arrays, so 14 bind parameters, not 14 per row.
const INSERT_POSITIONS = `
INSERT INTO positions (tenant_id, device_id, ts, lat, lon, speed, heading, altitude, accuracy,
                       satellites, ignition, odometer, attributes)
SELECT t, d, to_timestamp(ms / 1000.0), lat, lon, speed, heading, altitude, accuracy, sats, ign, odo, attrs
  FROM unnest($1::text[], $2::text[], $3::float8[], $4::float8[], $5::float8[], $6::real[], $7::real[],
              $8::real[], $9::real[], $10::smallint[], $11::boolean[], $12::float8[], $13::jsonb[])
       AS u(t, d, ms, lat, lon, speed, heading, altitude, accuracy, sats, ign, odo, attrs)
ON CONFLICT (tenant_id, device_id, ts) DO NOTHING`;

// A late fix never moves a device backwards: the update applies only to a newer timestamp.
const UPSERT_DEVICES = `
INSERT INTO devices AS dv (tenant_id, device_id, last_ts, lat, lon, speed, heading, ignition)
SELECT t, d, to_timestamp(ms / 1000.0), lat, lon, speed, heading, ign
  FROM unnest($1::text[], $2::text[], $3::float8[], $4::float8[], $5::float8[], $6::real[], $7::real[], $8::boolean[])
       AS u(t, d, ms, lat, lon, speed, heading, ign)
ON CONFLICT (tenant_id, device_id) DO UPDATE
   SET last_ts = excluded.last_ts, lat = excluded.lat, lon = excluded.lon, speed = excluded.speed,
       heading = excluded.heading, ignition = excluded.ignition, last_received_at = now()
 WHERE dv.last_ts < excluded.last_ts`;

/**
 * The newest fix of each device in the batch (ON CONFLICT DO UPDATE may touch a row once),
 * sorted by device: concurrent batches then lock the rows they share in the same order and
 * cannot deadlock.
 */
export function latestPerDevice(fixes: readonly Fix[]): Fix[] {
  const latest = new Map<string, Fix>();
  for (const fix of fixes) {
    const key = `${fix.tenantId}\u0000${fix.deviceId}`;
    const seen = latest.get(key);
    if (seen === undefined || fix.ts > seen.ts) latest.set(key, fix);
  }
  return [...latest.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, fix]) => fix);
}

/**
 * How a column's values are written into a PostgreSQL array literal. pg's generic array
 * serializer escapes every element and was a tenth of ingest's CPU time; here only JSON needs
 * quoting, since tenant and device ids are validated tokens of [A-Za-z0-9_-].
 */
type Column =
  | { readonly kind: 'token'; readonly get: (fix: Fix) => string }
  | { readonly kind: 'number'; readonly get: (fix: Fix) => number | null }
  | { readonly kind: 'boolean'; readonly get: (fix: Fix) => boolean | null }
  | { readonly kind: 'json'; readonly get: (fix: Fix) => object | null };

const tenantId: Column = { kind: 'token', get: (f) => f.tenantId };
const deviceId: Column = { kind: 'token', get: (f) => f.deviceId };
const num = (get: (fix: Fix) => number | null): Column => ({ kind: 'number', get });
const ignition: Column = { kind: 'boolean', get: (f) => f.ignition };

const POSITION_COLUMNS: Column[] = [
  tenantId, deviceId, num((f) => f.ts), num((f) => f.lat), num((f) => f.lon), num((f) => f.speed), num((f) => f.heading),
  num((f) => f.altitude), num((f) => f.accuracy), num((f) => f.satellites), ignition, num((f) => f.odometer),
  { kind: 'json', get: (f) => f.attributes },
];

const DEVICE_COLUMNS: Column[] = [
  tenantId, deviceId, num((f) => f.ts), num((f) => f.lat), num((f) => f.lon), num((f) => f.speed), num((f) => f.heading), ignition,
];

function element(column: Column, fix: Fix): string {
  switch (column.kind) {
    case 'token':
      return column.get(fix);
    case 'number': {
      const value = column.get(fix);
      return value === null ? 'NULL' : String(value);
    }
    case 'boolean': {
      const value = column.get(fix);
      return value === null ? 'NULL' : value ? 't' : 'f';
    }
    case 'json': {
      const value = column.get(fix);
      return value === null ? 'NULL' : `"${JSON.stringify(value).replace(/["\\]/g, '\\$&')}"`;
    }
  }
}

/** The bind parameters of an `unnest` statement: one array literal per column. */
function columnArrays(fixes: readonly Fix[], columns: Column[]): string[] {
  return columns.map((column) => `{${fixes.map((fix) => element(column, fix)).join(',')}}`);
}

/** The PostgreSQL/TimescaleDB position store. */
export class PgPositionStore implements PositionStore {
  constructor(private readonly pool: pg.Pool) {}

  async writeBatch(fixes: readonly Fix[]): Promise<{ inserted: number }> {
    if (fixes.length === 0) return { inserted: 0 };
    const client = await this.pool.connect();
    let failure: Error | undefined;
    try {
      await client.query('BEGIN');
      const inserted = await client.query({ name: 'insert_positions', text: INSERT_POSITIONS, values: columnArrays(fixes, POSITION_COLUMNS) });
      await client.query({ name: 'upsert_devices', text: UPSERT_DEVICES, values: columnArrays(latestPerDevice(fixes), DEVICE_COLUMNS) });
      await client.query('COMMIT');
      return { inserted: inserted.rowCount ?? 0 };
    } catch (err) {
      failure = err as Error;
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      // A connection that failed mid-transaction may be broken: destroy it rather than reuse it.
      client.release(failure);
    }
  }
}
