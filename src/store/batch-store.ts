import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { DeviceStateRow } from '../core/device-state.js';
import type { DerivedEvent } from '../core/event.js';
import { deviceKey, type Fix } from '../core/fix.js';
import { FencedError } from '../errors.js';
import { inTransaction } from './database.js';

/** The owner's hold on a partition, as `claimPartition` granted it. */
export interface PartitionHold {
  /** The partition's row in ingest_partitions. */
  readonly lane: number;
  readonly partition: number;
  readonly epoch: number;
}

/** Everything one batch of a partition produced, committed in one transaction. */
export interface PartitionBatch {
  readonly hold: PartitionHold;
  /** Stream sequence of the batch's last message: the partition is committed up to here. */
  readonly lastSeq: number;
  /** The partition's events are on EVENTS up to this stream sequence (a watermark). */
  readonly publishedSeq: number;
  readonly fixes: readonly Fix[];
  /** The newest fix of each device that reported since the devices table was last refreshed. */
  readonly latest: readonly Fix[];
  readonly events: readonly DerivedEvent[];
  /** Device states changed since the last checkpoint, when this batch checkpoints; else null. */
  readonly checkpoint: readonly DeviceStateRow[] | null;
}

export interface BatchOutcome {
  /** Fixes stored (a fix already stored is skipped). */
  readonly inserted: number;
  /** The batch's events that were new, in order: the ones to publish. */
  readonly newEvents: DerivedEvent[];
}

/** Where the pipeline commits its batches; committed before anything is acknowledged or published. */
export interface BatchStore {
  /** Stores the batch, or throws FencedError (and stores nothing) when the hold is stale. */
  writeBatch(batch: PartitionBatch): Promise<BatchOutcome>;
}

// Taken first in every batch's transaction: it fences (no row unless the epoch is still ours)
// and holds the partition's row lock until commit, so a new owner's claim waits for a commit
// in progress and then sees everything it wrote.
const ADVANCE_PARTITION = `
UPDATE ingest_partitions
   SET committed_seq = greatest(committed_seq, $3), published_seq = greatest(published_seq, $4),
       checkpoint_seq = CASE WHEN $5 THEN greatest(checkpoint_seq, $3) ELSE checkpoint_seq END, updated_at = now()
 WHERE id = $1 AND epoch = $2`;

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

const COPY_POSITIONS = `COPY positions (tenant_id, device_id, ts, lat, lon, speed, heading, altitude, accuracy,
  satellites, ignition, odometer, attributes) FROM STDIN`;

/** PostgreSQL's unique_violation: a fix of the batch is stored already. */
const UNIQUE_VIOLATION = '23505';

/** A number in COPY text format, `\N` for null. */
function copyNumber(value: number | null): string {
  return value === null ? '\\N' : String(value);
}

/** ISO 8601 of a whole second, remembered: the fixes of a batch mostly share their seconds. */
const isoSeconds = new Map<number, string>();

/** A timestamptz in COPY text: the ISO string of the second (cached), then the milliseconds. */
function copyTimestamp(ms: number): string {
  const second = Math.floor(ms / 1000);
  let prefix = isoSeconds.get(second);
  if (prefix === undefined) {
    if (isoSeconds.size >= 4096) isoSeconds.clear();
    prefix = new Date(second * 1000).toISOString().slice(0, 19);
    isoSeconds.set(second, prefix);
  }
  return `${prefix}.${String(ms - second * 1000).padStart(3, '0')}Z`;
}

/**
 * The fixes as COPY text, one line each. Tenant and device ids are validated tokens of
 * [A-Za-z0-9_-] and need no escaping; JSON escapes its own control characters, so only its
 * backslashes are doubled.
 */
export function positionsCopyText(fixes: readonly Fix[]): string {
  const lines: string[] = new Array<string>(fixes.length);
  for (let i = 0; i < fixes.length; i++) {
    const f = fixes[i] as Fix;
    lines[i] = `${f.tenantId}\t${f.deviceId}\t${copyTimestamp(f.ts)}\t${f.lat}\t${f.lon}\t${copyNumber(f.speed)}\t${copyNumber(f.heading)}\t${copyNumber(f.altitude)}\t`
      + `${copyNumber(f.accuracy)}\t${copyNumber(f.satellites)}\t${f.ignition === null ? '\\N' : f.ignition ? 't' : 'f'}\t${copyNumber(f.odometer)}\t`
      + `${f.attributes === null ? '\\N' : JSON.stringify(f.attributes).replaceAll('\\', '\\\\')}\n`;
  }
  return lines.join('');
}

async function copyPositions(client: pg.PoolClient, fixes: readonly Fix[]): Promise<number> {
  const stream = client.query(copyFrom(COPY_POSITIONS));
  await pipeline(Readable.from([positionsCopyText(fixes)]), stream);
  return stream.rowCount;
}

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
INSERT INTO device_state (tenant_id, device_id, state, lane)
SELECT t, d, s, $4 FROM unnest($1::text[], $2::text[], $3::text[]) AS u(t, d, s)
ON CONFLICT (tenant_id, device_id) DO UPDATE SET state = excluded.state, lane = excluded.lane, updated_at = now()`;

// Events already stored (re-derived on a replay) are skipped, and only the new ids come back.
const INSERT_EVENTS = `
INSERT INTO events (id, tenant_id, device_id, type, occurred_at, data, lane, source_seq)
SELECT id, t, d, type, to_timestamp(ms / 1000.0), data, $7, $8
  FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::float8[], $6::jsonb[]) WITH ORDINALITY
       AS u(id, t, d, type, ms, data, n)
 ORDER BY n
ON CONFLICT (id) DO NOTHING
RETURNING id`;

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

  /**
   * Fixes go in with COPY, the cheapest way in for the server and for us. A fix stored already
   * (a device resending) makes COPY fail the transaction: the batch is then written again with
   * INSERT ... ON CONFLICT DO NOTHING, which skips it.
   */
  async writeBatch(batch: PartitionBatch): Promise<BatchOutcome> {
    try {
      return await this.write(batch, false);
    } catch (err) {
      if ((err as { code?: string }).code !== UNIQUE_VIOLATION) throw err;
      return this.write(batch, true);
    }
  }

  private write(batch: PartitionBatch, skipStored: boolean): Promise<BatchOutcome> {
    const { hold, fixes, events, checkpoint } = batch;
    return inTransaction(this.pool, async (client) => {
      const advanced = await client.query({
        name: 'advance_partition', text: ADVANCE_PARTITION, values: [hold.lane, hold.epoch, batch.lastSeq, batch.publishedSeq, checkpoint !== null],
      });
      if (advanced.rowCount === 0) throw new FencedError(hold.partition, hold.epoch);
      let inserted = 0;
      if (fixes.length > 0) {
        inserted = skipStored
          ? ((await client.query({ name: 'insert_positions', text: INSERT_POSITIONS, values: columnArrays(fixes, POSITION_COLUMNS) })).rowCount ?? 0)
          : await copyPositions(client, fixes);
      }
      if (batch.latest.length > 0) {
        // Sorted by device: concurrent batches then lock the rows they share in the same order.
        const sorted = [...batch.latest].sort(byDevice);
        await client.query({ name: 'upsert_devices', text: UPSERT_DEVICES, values: columnArrays(sorted, DEVICE_COLUMNS) });
      }
      if (checkpoint !== null && checkpoint.length > 0) {
        const sorted = [...checkpoint].sort(byDevice);
        await client.query({ name: 'upsert_device_state', text: UPSERT_DEVICE_STATE, values: [...columnArrays(sorted, STATE_COLUMNS), hold.lane] });
      }
      let newEvents: DerivedEvent[] = [];
      if (events.length > 0) {
        const result = await client.query<{ id: string }>({
          name: 'insert_events', text: INSERT_EVENTS, values: [...columnArrays(events, EVENT_COLUMNS), hold.lane, batch.lastSeq],
        });
        const stored = new Set(result.rows.map((r) => r.id));
        newEvents = stored.size === events.length ? [...events] : events.filter((e) => stored.has(e.id));
      }
      return { inserted, newEvents };
    });
  }
}
