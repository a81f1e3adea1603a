import type { DeviceStateRow } from './device-state.js';
import type { DerivedEvent } from './event.js';
import type { DevicePosition, Fix } from './fix.js';

// The ports of ingest: what the pipeline and the processor need of the database, implemented
// in src/store/ (batch-store.ts, partition-store.ts) and by the tests' in-memory doubles.

/** A row PostgreSQL refuses to store: its index among those probed, and why. */
export interface RefusedRow {
  readonly index: number;
  readonly reason: string;
}

/** The owner's hold on a partition, as `PartitionStore.claim` granted it. */
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
  readonly events: readonly DerivedEvent[];
}

/** What committing a group of batches (of different partitions) did. */
export interface GroupOutcome {
  /** Fixes stored, over the group (a fix already stored is skipped). */
  readonly inserted: number;
  /** Lanes whose hold was stale: nothing of their batches was stored. */
  readonly fenced: ReadonlySet<number>;
  /** Ids of the events that were new: the ones to publish. */
  readonly recorded: ReadonlySet<string>;
}

/** Where batches are committed; committed before anything is acknowledged or published. */
export interface BatchStore {
  /**
   * Stores batches of different partitions in one transaction, each only if its partition is
   * still held at its epoch: a fenced partition's batch is left out, the others are stored.
   */
  writeBatches(batches: readonly PartitionBatch[]): Promise<GroupOutcome>;
  /**
   * The fixes and events (by index) that PostgreSQL refuses to store, once `writeBatches` failed
   * with an UnstorableError; nothing is written. Empty when each is stored alone: then the
   * refusal came from the group as a whole.
   */
  unstorable(fixes: readonly Fix[], events: readonly DerivedEvent[]): Promise<{ fixes: RefusedRow[]; events: RefusedRow[] }>;
  /**
   * Checkpoints device states changed since the last checkpoint, as they stand after stream
   * sequence `seq` (committed already). False, and nothing written, when the partition holds a
   * checkpoint as new already: checkpoints only move forward, whoever writes them (a fenced
   * owner's checkpoint of what it committed is still true).
   */
  checkpoint(hold: PartitionHold, seq: number, states: readonly DeviceStateRow[]): Promise<boolean>;
  /** The devices table: the newest of these fixes per device, never moving a device back. */
  refreshDevices(latest: readonly DevicePosition[]): Promise<void>;
}

/** A partition as its new owner finds it. */
export interface PartitionClaim extends PartitionHold {
  readonly partitions: number;
  readonly committedSeq: number;
  readonly publishedSeq: number;
  readonly checkpointSeq: number;
}

/** What taking over a partition needs from the database. */
export interface PartitionStore {
  /**
   * Makes `owner` the partition's owner with a new epoch, after any commit of the previous owner
   * in progress (it holds the row). A partition never seen before starts where the partitions of
   * an earlier partition count left off.
   */
  claim(partitions: number, partition: number, owner: string): Promise<PartitionClaim>;
  /** The partition's checkpointed device states (those of an earlier partitioning included). */
  loadStates(claim: PartitionClaim): Promise<DeviceStateRow[]>;
  /**
   * The stored fixes of these devices from each one's time on, by device and fix time: what a
   * new owner rebuilds the devices' late-fix histories from.
   */
  storedFixes(devices: readonly { readonly tenantId: string; readonly deviceId: string; readonly from: number }[]): Promise<Fix[]>;
  /**
   * Committed events of the partition past its publish watermark, oldest first: what the last
   * owner committed but may not have published (a batch or two, unless NATS was away).
   */
  unpublished(claim: PartitionClaim): Promise<{ seq: number; event: DerivedEvent; committedAt: number }[]>;
}
