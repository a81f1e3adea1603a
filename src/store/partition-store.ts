import type pg from 'pg';
import { INITIAL_STATE, type DeviceState, type DeviceStateRow } from '../core/device-state.js';
import type { DerivedEvent, EventType } from '../core/event.js';
import type { Fix } from '../core/fix.js';
import { partitionOf } from '../core/partition.js';
import type { PartitionClaim, PartitionStore } from '../core/ingest-ports.js';
import { FencewireError } from '../errors.js';
import { columnArrays, num, token, type Column } from './array-columns.js';

const CLAIM = `
INSERT INTO ingest_partitions (partitions, partition, owner, epoch, committed_seq, published_seq, checkpoint_seq)
SELECT $1, $2, $3, 1, s, s, s
  FROM (SELECT coalesce(max(committed_seq), 0) AS s FROM ingest_partitions WHERE partitions <> $1) AS earlier
ON CONFLICT (partitions, partition) DO UPDATE
   SET epoch = ingest_partitions.epoch + 1, owner = excluded.owner, updated_at = now()
RETURNING id, epoch, committed_seq, published_seq, checkpoint_seq`;

// The partition's own rows, and rows from before partitioning or of another partition count,
// which are filtered by the device's partition here.
const LOAD_STATES = `
SELECT tenant_id, device_id, state, history_base, lane = $1 AS own FROM device_state
 WHERE lane = $1 OR lane IS NULL OR lane IN (SELECT id FROM ingest_partitions WHERE partitions <> $2)`;

const UNPUBLISHED = `
SELECT id, tenant_id, device_id, type, occurred_at, data, late, source_seq, created_at FROM events
 WHERE lane = $1 AND source_seq > $2 AND source_seq <= $3
 ORDER BY source_seq, seq`;

// By device and fix time, each device's from its history's first fix on.
const STORED_FIXES = `
SELECT p.tenant_id, p.device_id, round(extract(epoch FROM p.ts) * 1000) AS ms, p.lat, p.lon, p.speed, p.heading, p.altitude,
       p.accuracy, p.satellites, p.ignition, p.odometer, p.attributes
  FROM unnest($1::text[], $2::text[], $3::float8[]) AS d(t, dv, from_ms)
  JOIN positions p ON p.tenant_id = d.t AND p.device_id = d.dv AND p.ts >= to_timestamp(d.from_ms / 1000.0)
 ORDER BY p.tenant_id, p.device_id, p.ts`;

const FROM_COLUMNS: Column<{ tenantId: string; deviceId: string; from: number }>[] = [token((d) => d.tenantId), token((d) => d.deviceId), num((d) => d.from)];

interface StoredFixRow {
  tenant_id: string;
  device_id: string;
  ms: string;
  lat: number;
  lon: number;
  speed: number | null;
  heading: number | null;
  altitude: number | null;
  accuracy: number | null;
  satellites: number | null;
  ignition: boolean | null;
  odometer: number | null;
  attributes: Record<string, number | string | boolean> | null;
}

interface EventRow {
  id: string;
  tenant_id: string;
  device_id: string | null;
  type: EventType;
  occurred_at: Date;
  data: Record<string, unknown>;
  late: boolean;
  source_seq: string;
}

export class PgPartitionStore implements PartitionStore {
  constructor(private readonly pool: pg.Pool) {}

  async claim(partitions: number, partition: number, owner: string): Promise<PartitionClaim> {
    const { rows } = await this.pool.query<{ id: number; epoch: string; committed_seq: string; published_seq: string; checkpoint_seq: string }>(
      CLAIM, [partitions, partition, owner]);
    const row = rows[0];
    if (row === undefined) throw new FencewireError('claim_failed', `claiming partition ${partition} of ${partitions} returned no row`);
    return {
      lane: row.id, partition, partitions, epoch: Number(row.epoch),
      committedSeq: Number(row.committed_seq), publishedSeq: Number(row.published_seq), checkpointSeq: Number(row.checkpoint_seq),
    };
  }

  async loadStates(claim: PartitionClaim): Promise<DeviceStateRow[]> {
    const { rows } = await this.pool.query<{ tenant_id: string; device_id: string; state: string; history_base: string | null; own: boolean | null }>(
      LOAD_STATES, [claim.lane, claim.partitions]);
    const states: DeviceStateRow[] = [];
    const parse = (text: string): DeviceState => ({ ...INITIAL_STATE, ...(JSON.parse(text) as DeviceState) });
    // history_base: {"state": ..., "from": <ms>}, where the device's late-fix history starts.
    for (const r of rows) {
      if (r.own !== true && partitionOf(r.tenant_id, r.device_id, claim.partitions) !== claim.partition) continue;
      const base = r.history_base === null ? null : (JSON.parse(r.history_base) as { state: DeviceState; from: number });
      states.push({ tenantId: r.tenant_id, deviceId: r.device_id, state: parse(r.state), historyBase: base === null ? null : { state: { ...INITIAL_STATE, ...base.state }, from: base.from } });
    }
    return states;
  }

  async storedFixes(devices: readonly { tenantId: string; deviceId: string; from: number }[]): Promise<Fix[]> {
    if (devices.length === 0) return [];
    const { rows } = await this.pool.query<StoredFixRow>(STORED_FIXES, columnArrays(devices, FROM_COLUMNS));
    return rows.map((r) => ({
      tenantId: r.tenant_id, deviceId: r.device_id, ts: Number(r.ms), lat: r.lat, lon: r.lon, speed: r.speed, heading: r.heading, altitude: r.altitude,
      accuracy: r.accuracy, satellites: r.satellites, ignition: r.ignition, odometer: r.odometer, attributes: r.attributes,
    }));
  }

  async unpublished(claim: PartitionClaim): Promise<{ seq: number; event: DerivedEvent; committedAt: number }[]> {
    const { rows } = await this.pool.query<EventRow & { created_at: Date }>(UNPUBLISHED, [claim.lane, claim.publishedSeq, claim.committedSeq]);
    return rows.map((r) => ({
      seq: Number(r.source_seq),
      committedAt: r.created_at.getTime(),
      event: { id: r.id, tenantId: r.tenant_id, deviceId: r.device_id, type: r.type, occurredAt: r.occurred_at.getTime(), data: r.data, ...(r.late ? { late: true } : {}) },
    }));
  }
}
