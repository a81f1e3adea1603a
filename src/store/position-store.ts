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

/** The newest fix of each device in the batch (ON CONFLICT DO UPDATE may touch a row once). */
export function latestPerDevice(fixes: readonly Fix[]): Fix[] {
  const latest = new Map<string, Fix>();
  for (const fix of fixes) {
    const key = `${fix.tenantId}\u0000${fix.deviceId}`;
    const seen = latest.get(key);
    if (seen === undefined || fix.ts > seen.ts) latest.set(key, fix);
  }
  return [...latest.values()];
}

type Column = (fix: Fix) => unknown;

const POSITION_COLUMNS: Column[] = [
  (f) => f.tenantId, (f) => f.deviceId, (f) => f.ts, (f) => f.lat, (f) => f.lon, (f) => f.speed, (f) => f.heading,
  (f) => f.altitude, (f) => f.accuracy, (f) => f.satellites, (f) => f.ignition, (f) => f.odometer,
  (f) => (f.attributes === null ? null : JSON.stringify(f.attributes)),
];

const DEVICE_COLUMNS: Column[] = [
  (f) => f.tenantId, (f) => f.deviceId, (f) => f.ts, (f) => f.lat, (f) => f.lon, (f) => f.speed, (f) => f.heading,
  (f) => f.ignition,
];

/** The bind parameters of an `unnest` statement: one array per column. */
function columnArrays(fixes: readonly Fix[], columns: Column[]): unknown[][] {
  return columns.map((column) => fixes.map(column));
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
