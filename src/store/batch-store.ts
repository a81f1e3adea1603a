import type pg from 'pg';
import type { DeviceState } from '../core/device-state.js';
import type { DerivedEvent } from '../core/event.js';
import { deviceKey, type Fix } from '../decode/fix.js';
import { inTransaction } from './database.js';

/** A device's rule state as of the end of a batch. */
export interface DeviceStateRow {
  readonly tenantId: string;
  readonly deviceId: string;
  readonly state: DeviceState;
}

/** Everything one ingest batch produced, committed in one transaction. */
export interface IngestBatch {
  readonly fixes: readonly Fix[];
  readonly deviceStates: readonly DeviceStateRow[];
  readonly events: readonly DerivedEvent[];
}

/** Where ingest puts its batches; committed before anything is acknowledged or published. */
export interface BatchStore {
  /** Stores the batch; a fix or an event already stored is skipped. */
  writeBatch(batch: IngestBatch): Promise<{ inserted: number }>;
}

// One statement per table whatever the batch size: column arrays, so a fixed handful of bind
// parameters, never one per row.
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

const UPSERT_DEVICE_STATE = `
INSERT INTO device_state (tenant_id, device_id, state)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[])
ON CONFLICT (tenant_id, device_id) DO UPDATE SET state = excluded.state, updated_at = now()`;

const INSERT_EVENTS = `
INSERT INTO events (id, tenant_id, device_id, type, occurred_at, data)
SELECT id, t, d, type, to_timestamp(ms / 1000.0), data
  FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::float8[], $6::jsonb[]) WITH ORDINALITY
       AS u(id, t, d, type, ms, data, n)
 ORDER BY n
ON CONFLICT (id) DO NOTHING`;

/**
 * The newest fix of each device in the batch (ON CONFLICT DO UPDATE may touch a row once),
 * sorted by device: concurrent batches then lock the rows they share in the same order and
 * cannot deadlock.
 */
export function latestPerDevice(fixes: readonly Fix[]): Fix[] {
  const latest = new Map<string, Fix>();
  for (const fix of fixes) {
    const key = deviceKey(fix.tenantId, fix.deviceId);
    const seen = latest.get(key);
    if (seen === undefined || fix.ts > seen.ts) latest.set(key, fix);
  }
  return [...latest.values()].sort(byDevice);
}

/**
 * How a column's values are written into a PostgreSQL array literal. pg's generic array
 * serializer escapes every element and was a tenth of ingest's CPU time; here only JSON needs
 * quoting: tenant and device ids are validated tokens of [A-Za-z0-9_-], event ids and types
 * are ours.
 */
type Column<T> =
  | { readonly kind: 'token'; readonly get: (row: T) => string }
  | { readonly kind: 'number'; readonly get: (row: T) => number | null }
  | { readonly kind: 'boolean'; readonly get: (row: T) => boolean | null }
  | { readonly kind: 'json'; readonly get: (row: T) => object | null };

const token = <T>(get: (row: T) => string): Column<T> => ({ kind: 'token', get });
const num = <T>(get: (row: T) => number | null): Column<T> => ({ kind: 'number', get });
const bool = <T>(get: (row: T) => boolean | null): Column<T> => ({ kind: 'boolean', get });
const json = <T>(get: (row: T) => object | null): Column<T> => ({ kind: 'json', get });

const POSITION_COLUMNS: Column<Fix>[] = [
  token((f) => f.tenantId), token((f) => f.deviceId), num((f) => f.ts), num((f) => f.lat), num((f) => f.lon),
  num((f) => f.speed), num((f) => f.heading), num((f) => f.altitude), num((f) => f.accuracy), num((f) => f.satellites),
  bool((f) => f.ignition), num((f) => f.odometer), json((f) => f.attributes),
];

const DEVICE_COLUMNS: Column<Fix>[] = [
  token((f) => f.tenantId), token((f) => f.deviceId), num((f) => f.ts), num((f) => f.lat), num((f) => f.lon),
  num((f) => f.speed), num((f) => f.heading), bool((f) => f.ignition),
];

const STATE_COLUMNS: Column<DeviceStateRow>[] = [token((r) => r.tenantId), token((r) => r.deviceId), json((r) => r.state)];

const EVENT_COLUMNS: Column<DerivedEvent>[] = [
  token((e) => e.id), token((e) => e.tenantId), token((e) => e.deviceId), token((e) => e.type), num((e) => e.occurredAt), json((e) => e.data),
];

function element<T>(column: Column<T>, row: T): string {
  switch (column.kind) {
    case 'token':
      return column.get(row);
    case 'number': {
      const value = column.get(row);
      return value === null ? 'NULL' : String(value);
    }
    case 'boolean': {
      const value = column.get(row);
      return value === null ? 'NULL' : value ? 't' : 'f';
    }
    case 'json': {
      const value = column.get(row);
      return value === null ? 'NULL' : `"${JSON.stringify(value).replace(/["\\]/g, '\\$&')}"`;
    }
  }
}

/** The bind parameters of an `unnest` statement: one array literal per column. */
function columnArrays<T>(rows: readonly T[], columns: Column<T>[]): string[] {
  return columns.map((column) => `{${rows.map((row) => element(column, row)).join(',')}}`);
}

function byDevice(a: { tenantId: string; deviceId: string }, b: { tenantId: string; deviceId: string }): number {
  const ka = deviceKey(a.tenantId, a.deviceId);
  const kb = deviceKey(b.tenantId, b.deviceId);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/** The PostgreSQL/TimescaleDB batch store. */
export class PgBatchStore implements BatchStore {
  constructor(private readonly pool: pg.Pool) {}

  async writeBatch(batch: IngestBatch): Promise<{ inserted: number }> {
    const { fixes, deviceStates, events } = batch;
    if (fixes.length === 0 && deviceStates.length === 0 && events.length === 0) return { inserted: 0 };
    return inTransaction(this.pool, async (client) => {
      let inserted = 0;
      if (fixes.length > 0) {
        const result = await client.query({ name: 'insert_positions', text: INSERT_POSITIONS, values: columnArrays(fixes, POSITION_COLUMNS) });
        inserted = result.rowCount ?? 0;
        await client.query({ name: 'upsert_devices', text: UPSERT_DEVICES, values: columnArrays(latestPerDevice(fixes), DEVICE_COLUMNS) });
      }
      if (deviceStates.length > 0) {
        const sorted = [...deviceStates].sort(byDevice);
        await client.query({ name: 'upsert_device_state', text: UPSERT_DEVICE_STATE, values: columnArrays(sorted, STATE_COLUMNS) });
      }
      if (events.length > 0) {
        await client.query({ name: 'insert_events', text: INSERT_EVENTS, values: columnArrays(events, EVENT_COLUMNS) });
      }
      return { inserted };
    });
  }
}
