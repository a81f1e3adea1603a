import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { DeviceStateRow } from '../core/device-state.js';
import type { DerivedEvent } from '../core/event.js';
import { deviceKey, type DevicePosition, type Fix } from '../core/fix.js';
import type { BatchStore, GroupOutcome, PartitionBatch, PartitionHold, RefusedRow } from '../core/ingest-ports.js';
import { bool, columnArrays, json, num, token, type Column } from './array-columns.js';
import { positionsCopyText } from './copy-text.js';
import { classifyWriteError, inTransaction, refusedRows } from './database.js';

// A group of batches in one statement (one round trip, its own transaction). Each partition's
// row is advanced only at its holder's epoch, and a batch's fixes and events are written only if
// its row was, so a fenced owner writes nothing. The rows stay locked to the end: a new owner's
// claim waits for a batch in progress and then sees all of it. Fixes or events already stored
// are skipped; the advanced lanes and the ids of the new events come back.
const WRITE_BATCHES = `
WITH advanced AS (
  UPDATE ingest_partitions p
     SET committed_seq = greatest(p.committed_seq, c.seq), published_seq = greatest(p.published_seq, c.pub), updated_at = now()
    FROM unnest($1::int[], $2::bigint[], $3::bigint[], $4::bigint[]) AS c(lane, epoch, seq, pub)
   WHERE p.id = c.lane AND p.epoch = c.epoch
  RETURNING p.id, c.seq
), stored AS (
  INSERT INTO positions (tenant_id, device_id, ts, lat, lon, speed, heading, altitude, accuracy, satellites, ignition, odometer, attributes)
  SELECT t, d, to_timestamp(ms / 1000.0), lat, lon, speed, heading, altitude, accuracy, sats, ign, odo, attrs
    FROM unnest($5::text[], $6::text[], $7::float8[], $8::float8[], $9::float8[], $10::real[], $11::real[],
                $12::real[], $13::real[], $14::smallint[], $15::boolean[], $16::float8[], $17::jsonb[], $18::int[])
         AS u(t, d, ms, lat, lon, speed, heading, altitude, accuracy, sats, ign, odo, attrs, lane)
   WHERE u.lane IN (SELECT id FROM advanced)
  ON CONFLICT (tenant_id, device_id, ts) DO NOTHING
  RETURNING 1
), recorded AS (
  INSERT INTO events (id, tenant_id, device_id, type, occurred_at, data, late, lane, source_seq)
  SELECT u.id, t, d, type, to_timestamp(ms / 1000.0), data, late, u.lane, a.seq
    FROM unnest($19::text[], $20::text[], $21::text[], $22::text[], $23::float8[], $24::jsonb[], $25::boolean[], $26::int[]) WITH ORDINALITY
         AS u(id, t, d, type, ms, data, late, lane, n)
    JOIN advanced a ON a.id = u.lane
   ORDER BY n
  ON CONFLICT (id) DO NOTHING
  RETURNING id
), restored AS (
  -- A late fix's correction derived again an event an earlier one retracted: it stands again,
  -- and is in this batch's outbox (lane and sequence) until it is published.
  UPDATE events e SET retracted_by = NULL, lane = u.lane, source_seq = a.seq
    FROM unnest($19::text[], $25::boolean[], $26::int[]) AS u(id, late, lane)
    JOIN advanced a ON a.id = u.lane
   WHERE u.late AND e.id = u.id AND e.retracted_by IS NOT NULL
  RETURNING e.id
), retracted AS (
  -- The batch nets a retraction against an event of its own (src/pipeline/batch.ts), so the
  -- event it withdraws was committed by an earlier statement.
  -- A data-modifying CTE runs whether or not the query reads it: nothing reads this one.
  UPDATE events e SET retracted_by = u.id
    FROM unnest($19::text[], $22::text[], $24::jsonb[]) AS u(id, type, data)
   WHERE u.type = 'event.retracted' AND e.id = u.data->>'retracted_id' AND u.id IN (SELECT id FROM recorded)
)
SELECT ARRAY(SELECT id FROM advanced) AS advanced, (SELECT count(*) FROM stored)::int AS inserted,
       ARRAY(SELECT id FROM recorded UNION ALL SELECT id FROM restored) AS recorded`;

// The probes of `unstorable`: the rows as the batch statement writes them, without the partition.
const PROBE_POSITIONS = `
INSERT INTO positions (tenant_id, device_id, ts, lat, lon, speed, heading, altitude, accuracy, satellites, ignition, odometer, attributes)
SELECT t, d, to_timestamp(ms / 1000.0), lat, lon, speed, heading, altitude, accuracy, sats, ign, odo, attrs
  FROM unnest($1::text[], $2::text[], $3::float8[], $4::float8[], $5::float8[], $6::real[], $7::real[],
              $8::real[], $9::real[], $10::smallint[], $11::boolean[], $12::float8[], $13::jsonb[])
       AS u(t, d, ms, lat, lon, speed, heading, altitude, accuracy, sats, ign, odo, attrs)
ON CONFLICT (tenant_id, device_id, ts) DO NOTHING`;
const PROBE_EVENTS = `
INSERT INTO events (id, tenant_id, device_id, type, occurred_at, data, late)
SELECT id, t, d, type, to_timestamp(ms / 1000.0), data, late
  FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::float8[], $6::jsonb[], $7::boolean[]) AS u(id, t, d, type, ms, data, late)
ON CONFLICT (id) DO NOTHING`;

/** Groups of at least this many fixes send them by COPY, in a transaction with the rest. */
const COPY_FROM_FIXES = 300;

// Last in a checkpoint's transaction, so that the partition's row is locked only for a moment.
const ADVANCE_CHECKPOINT = 'UPDATE ingest_partitions SET checkpoint_seq = $2 WHERE id = $1 AND checkpoint_seq < $2';

/** Rolls a checkpoint's transaction back when a newer checkpoint is there already. */
class CheckpointBehind extends Error {}

/** Rolls a group's COPY back when some of its partitions turned out fenced. */
class GroupFenced extends Error {
  constructor(readonly lanes: ReadonlySet<number>) {
    super(`lanes ${[...lanes].join(', ')} are fenced`);
  }
}

const COPY_POSITIONS = `COPY positions (tenant_id, device_id, ts, lat, lon, speed, heading, altitude, accuracy,
  satellites, ignition, odometer, attributes) FROM STDIN`;

/** PostgreSQL's unique_violation: a fix of the batch is stored already. */
const UNIQUE_VIOLATION = '23505';

async function copyPositions(client: pg.PoolClient, fixes: readonly Fix[]): Promise<number> {
  const stream = client.query(copyFrom(COPY_POSITIONS));
  await pipeline(Readable.from([positionsCopyText(fixes)]), stream);
  return stream.rowCount;
}

// A late fix never moves a device backwards: the update applies only to a newer timestamp, or
// to the same one when a late fix changed the geofences the device is inside, or its tags or
// route changed. Tags come as JSON text: unnest cannot take an array of arrays.
const UPSERT_DEVICES = `
INSERT INTO devices AS dv (tenant_id, device_id, last_ts, lat, lon, speed, heading, ignition, inside, tags, route_id)
SELECT t, d, to_timestamp(ms / 1000.0), lat, lon, speed, heading, ign, inside, ARRAY(SELECT jsonb_array_elements_text(tags::jsonb)), route
  FROM unnest($1::text[], $2::text[], $3::float8[], $4::float8[], $5::float8[], $6::real[], $7::real[], $8::boolean[], $9::text[], $10::text[], $11::text[])
       AS u(t, d, ms, lat, lon, speed, heading, ign, inside, tags, route)
ON CONFLICT (tenant_id, device_id) DO UPDATE
   SET last_ts = excluded.last_ts, lat = excluded.lat, lon = excluded.lon, speed = excluded.speed, heading = excluded.heading,
       ignition = excluded.ignition, inside = excluded.inside, tags = excluded.tags, route_id = excluded.route_id, last_received_at = now()
 WHERE dv.last_ts < excluded.last_ts
    OR (dv.last_ts = excluded.last_ts AND (dv.inside <> excluded.inside OR dv.tags <> excluded.tags OR dv.route_id IS DISTINCT FROM excluded.route_id))`;

const UPSERT_DEVICE_STATE = `
INSERT INTO device_state (tenant_id, device_id, state, history_base, lane)
SELECT t, d, s, b, $5 FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS u(t, d, s, b)
ON CONFLICT (tenant_id, device_id) DO UPDATE SET state = excluded.state, history_base = excluded.history_base, lane = excluded.lane, updated_at = now()`;

const POSITION_COLUMNS: Column<Fix>[] = [
  token((f) => f.tenantId), token((f) => f.deviceId), num((f) => f.ts), num((f) => f.lat), num((f) => f.lon),
  num((f) => f.speed), num((f) => f.heading), num((f) => f.altitude), num((f) => f.accuracy), num((f) => f.satellites),
  bool((f) => f.ignition), num((f) => f.odometer), json((f) => f.attributes),
];

const DEVICE_COLUMNS: Column<DevicePosition>[] = [
  token((f) => f.tenantId), token((f) => f.deviceId), num((f) => f.ts), num((f) => f.lat), num((f) => f.lon),
  num((f) => f.speed), num((f) => f.heading), bool((f) => f.ignition), json((f) => f.inside), json((f) => f.tags),
  token((f) => f.routeId ?? null),
];

const HOLD_COLUMNS: Column<PartitionBatch>[] = [num((b) => b.hold.lane), num((b) => b.hold.epoch), num((b) => b.lastSeq), num((b) => b.publishedSeq)];

const STATE_COLUMNS: Column<DeviceStateRow>[] = [token((r) => r.tenantId), token((r) => r.deviceId), json((r) => r.state), json((r) => r.historyBase ?? null)];

const EVENT_COLUMNS: Column<DerivedEvent>[] = [
  token((e) => e.id), token((e) => e.tenantId), token((e) => e.deviceId), token((e) => e.type), num((e) => e.occurredAt), json((e) => e.data),
  bool((e) => e.late === true),
];

function byDevice(a: { tenantId: string; deviceId: string }, b: { tenantId: string; deviceId: string }): number {
  const ka = deviceKey(a.tenantId, a.deviceId);
  const kb = deviceKey(b.tenantId, b.deviceId);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/**
 * The PostgreSQL/TimescaleDB batch store. Checkpoints and devices refreshes may have a pool of
 * their own (`upkeep`), so that they never hold up a batch waiting for a connection.
 */
export class PgBatchStore implements BatchStore {
  constructor(private readonly pool: pg.Pool, private readonly upkeep: pg.Pool = pool) {}

  /**
   * A small group is one statement. A large one sends its fixes by COPY, the cheapest way in for
   * both sides, then the same statement for the rest, in one transaction; if a partition turns
   * out fenced, that is rolled back and the group written again without it. A fix stored already
   * (a device resending) makes COPY fail the transaction: the group is then written as one
   * statement, which skips it. A data error (a row PostgreSQL refuses) is an UnstorableError.
   */
  async writeBatches(batches: readonly PartitionBatch[]): Promise<GroupOutcome> {
    try {
      return await this.writeGroupOnce(batches);
    } catch (err) {
      throw classifyWriteError(err);
    }
  }

  async unstorable(fixes: readonly Fix[], events: readonly DerivedEvent[]): Promise<{ fixes: RefusedRow[]; events: RefusedRow[] }> {
    return {
      fixes: await refusedRows(this.pool, fixes.length, (client, from, to) => client.query(PROBE_POSITIONS, columnArrays(fixes.slice(from, to), POSITION_COLUMNS))),
      events: await refusedRows(this.pool, events.length, (client, from, to) => client.query(PROBE_EVENTS, columnArrays(events.slice(from, to), EVENT_COLUMNS))),
    };
  }

  private async writeGroupOnce(batches: readonly PartitionBatch[]): Promise<GroupOutcome> {
    const fixes = batches.reduce((n, b) => n + b.fixes.length, 0);
    if (fixes < COPY_FROM_FIXES) return this.writeGroup(this.pool, batches, true);
    try {
      return await inTransaction(this.pool, async (client) => {
        await copyPositions(client, batches.flatMap((b) => b.fixes));
        const outcome = await this.writeGroup(client, batches, false);
        if (outcome.fenced.size > 0) throw new GroupFenced(outcome.fenced);
        return { ...outcome, inserted: fixes };
      });
    } catch (err) {
      if (err instanceof GroupFenced) {
        const rest = await this.writeGroupOnce(batches.filter((b) => !err.lanes.has(b.hold.lane)));
        return { ...rest, fenced: new Set([...err.lanes, ...rest.fenced]) };
      }
      if ((err as { code?: string }).code !== UNIQUE_VIOLATION) throw err;
      return this.writeGroup(this.pool, batches, true);
    }
  }

  /** The group's statement, with its fixes or (copied already) without. */
  private async writeGroup(db: pg.Pool | pg.PoolClient, batches: readonly PartitionBatch[], withFixes: boolean): Promise<GroupOutcome> {
    const lanes = (rows: readonly { hold: PartitionHold }[]) => `{${rows.map((r) => r.hold.lane).join(',')}}`;
    const fixes = withFixes ? batches.flatMap((b) => b.fixes.map((fix) => ({ fix, hold: b.hold }))) : [];
    const events = batches.flatMap((b) => b.events.map((event) => ({ event, hold: b.hold })));
    const { rows } = await db.query<{ advanced: number[]; inserted: number; recorded: string[] }>({
      name: 'write_batches',
      text: WRITE_BATCHES,
      values: [
        ...columnArrays(batches, HOLD_COLUMNS),
        ...columnArrays(fixes.map((f) => f.fix), POSITION_COLUMNS), lanes(fixes),
        ...columnArrays(events.map((e) => e.event), EVENT_COLUMNS), lanes(events),
      ],
    });
    const row = rows[0];
    const advanced = new Set(row?.advanced ?? []);
    return { inserted: row?.inserted ?? 0, fenced: new Set(batches.map((b) => b.hold.lane).filter((lane) => !advanced.has(lane))), recorded: new Set(row?.recorded ?? []) };
  }

  async checkpoint(hold: PartitionHold, seq: number, states: readonly DeviceStateRow[]): Promise<boolean> {
    // Sorted by device: two checkpoints of a partition (an old owner's, late) lock in one order.
    const sorted = [...states].sort(byDevice);
    try {
      await inTransaction(this.upkeep, async (client) => {
        if (sorted.length > 0) await client.query({ name: 'upsert_device_state', text: UPSERT_DEVICE_STATE, values: [...columnArrays(sorted, STATE_COLUMNS), hold.lane] });
        const advanced = await client.query({ name: 'advance_checkpoint', text: ADVANCE_CHECKPOINT, values: [hold.lane, seq] });
        if (advanced.rowCount === 0) throw new CheckpointBehind();
      });
      return true;
    } catch (err) {
      if (err instanceof CheckpointBehind) return false;
      throw err;
    }
  }

  async refreshDevices(latest: readonly DevicePosition[]): Promise<void> {
    if (latest.length === 0) return;
    // Sorted by device: refreshes of processors sharing devices (a hand-over) lock in one order.
    await this.upkeep.query({ name: 'upsert_devices', text: UPSERT_DEVICES, values: columnArrays([...latest].sort(byDevice), DEVICE_COLUMNS) });
  }
}
