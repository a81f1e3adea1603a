import type pg from 'pg';
import { INITIAL_STATE, type DeviceState, type DeviceStateRow } from '../core/device-state.js';
import type { DerivedEvent, EventType } from '../core/event.js';
import { partitionOf } from '../core/partition.js';
import type { PartitionClaim, PartitionStore } from '../core/ingest-ports.js';
import { FencewireError } from '../errors.js';

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
SELECT tenant_id, device_id, state, lane = $1 AS own FROM device_state
 WHERE lane = $1 OR lane IS NULL OR lane IN (SELECT id FROM ingest_partitions WHERE partitions <> $2)`;

const UNPUBLISHED = `
SELECT id, tenant_id, device_id, type, occurred_at, data, source_seq, created_at FROM events
 WHERE lane = $1 AND source_seq > $2 AND source_seq <= $3
 ORDER BY source_seq, seq`;

interface EventRow {
  id: string;
  tenant_id: string;
  device_id: string | null;
  type: EventType;
  occurred_at: Date;
  data: Record<string, unknown>;
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
    const { rows } = await this.pool.query<{ tenant_id: string; device_id: string; state: string; own: boolean | null }>(
      LOAD_STATES, [claim.lane, claim.partitions]);
    const states: DeviceStateRow[] = [];
    for (const r of rows) {
      if (r.own !== true && partitionOf(r.tenant_id, r.device_id, claim.partitions) !== claim.partition) continue;
      states.push({ tenantId: r.tenant_id, deviceId: r.device_id, state: { ...INITIAL_STATE, ...(JSON.parse(r.state) as DeviceState) } });
    }
    return states;
  }

  async unpublished(claim: PartitionClaim): Promise<{ seq: number; event: DerivedEvent; committedAt: number }[]> {
    const { rows } = await this.pool.query<EventRow & { created_at: Date }>(UNPUBLISHED, [claim.lane, claim.publishedSeq, claim.committedSeq]);
    return rows.map((r) => ({
      seq: Number(r.source_seq),
      committedAt: r.created_at.getTime(),
      event: { id: r.id, tenantId: r.tenant_id, deviceId: r.device_id, type: r.type, occurredAt: r.occurred_at.getTime(), data: r.data },
    }));
  }
}
