import type { Logger } from 'pino';
import type { DeviceStateRow } from '../core/device-state.js';
import type { DevicePosition } from '../core/fix.js';
import type { BatchStore, PartitionClaim } from '../core/ingest-ports.js';
import type { RuleEngine } from './rule-engine.js';

/**
 * How often the devices table (the API's latest position of each device) is refreshed: a
 * device reporting every second would otherwise rewrite its row in every batch.
 */
const DEVICES_REFRESH_MS = 1000;

/** A checkpoint and a devices refresh, taken with a batch and written after it. */
export interface Upkeep {
  readonly checkpoint: { readonly seq: number; readonly slots: Set<number>; readonly states: DeviceStateRow[] } | null;
  readonly latest: { readonly slots: Set<number>; readonly positions: DevicePosition[] } | null;
}

export interface UpkeepDeps {
  readonly claim: PartitionClaim;
  readonly engine: Pick<RuleEngine, 'rows' | 'positions'>;
  readonly store: Pick<BatchStore, 'checkpoint' | 'refreshDevices'>;
  /** Tells the API's live queries what the devices table was refreshed with. */
  readonly announce: (positions: readonly DevicePosition[]) => void;
  readonly log: Logger;
  /** How often the partition's changed device states are checkpointed. */
  readonly checkpointMs: number;
  readonly clock: () => number;
}

/**
 * A partition's checkpoints of changed device states and its refreshes of the devices table:
 * which devices changed since the last of each, when the next is due, and the one of each
 * being written. Both are taken as of a committed batch and written beside the next batches,
 * off the commit path; a failed write puts its devices back for the next.
 */
export class PartitionUpkeep {
  /** The engine's slots of the device states changed since the last checkpoint. */
  private dirty = new Set<number>();
  /** The slots of the devices with a newer fix than the devices table was last refreshed with. */
  private latest = new Set<number>();
  private lastCheckpointAt: number;
  private lastDevicesRefreshAt = 0;
  private checkpointing: Promise<void> | null = null;
  private refreshing: Promise<void> | null = null;

  constructor(private readonly deps: UpkeepDeps) {
    this.lastCheckpointAt = deps.clock();
  }

  /** A device's state changed. */
  changed(slot: number): void {
    this.dirty.add(slot);
  }

  /** A device has a newer fix for the devices table. */
  moved(slot: number): void {
    this.latest.add(slot);
  }

  /** The device's newest fix is not to go to the devices table (PostgreSQL refused to store it). */
  unmoved(slot: number): void {
    this.latest.delete(slot);
  }

  /** True when a checkpoint or a devices refresh is due with something to write. */
  due(): boolean {
    const now = this.deps.clock();
    return (this.dirty.size > 0 && this.checkpointDue(now)) || (this.latest.size > 0 && this.devicesDue(now));
  }

  /**
   * What a due checkpoint and devices refresh will write, taken now. A checkpoint holds the
   * states after every message accepted so far, so it is taken only when those are exactly the
   * batch's (`caughtUp`: no replay under way, no later batch waiting), and never while one is
   * being written. `now` takes both whether due or not (a hand-over).
   */
  take(batchLastSeq: number, caughtUp: boolean, now: boolean): Upkeep {
    const { engine, clock } = this.deps;
    const at = clock();
    const checkpoint = (now || this.checkpointDue(at)) && this.checkpointing === null && caughtUp
      ? { seq: batchLastSeq, slots: this.dirty, states: engine.rows(this.dirty) } : null;
    if (checkpoint !== null) {
      this.dirty = new Set();
      this.lastCheckpointAt = at;
    }
    const latest = (now || this.devicesDue(at)) && this.refreshing === null && this.latest.size > 0
      ? { slots: this.latest, positions: engine.positions(this.latest) } : null;
    if (latest !== null) {
      this.latest = new Set();
      this.lastDevicesRefreshAt = at;
    }
    return { checkpoint, latest };
  }

  /** Writes a committed batch's upkeep on the side; a failure puts it back for the next time. */
  start({ checkpoint, latest }: Upkeep): void {
    const { store, log, claim } = this.deps;
    if (checkpoint !== null) {
      this.checkpointing = store.checkpoint(claim, checkpoint.seq, checkpoint.states).then(
        () => undefined,
        (err: Error) => {
          log.warn({ err: err.message, partition: claim.partition }, 'checkpoint failed; the next one takes its states');
          // The next checkpoint takes these devices' states as they stand then.
          for (const slot of checkpoint.slots) this.dirty.add(slot);
        },
      ).finally(() => {
        this.checkpointing = null;
      });
    }
    if (latest !== null) {
      this.refreshing = store.refreshDevices(latest.positions).then(() => this.deps.announce(latest.positions), (err: Error) => {
        log.warn({ err: err.message, partition: claim.partition }, 'refreshing the devices table failed; will retry');
        for (const slot of latest.slots) this.latest.add(slot);
      }).finally(() => {
        this.refreshing = null;
      });
    }
  }

  /** Resolves once the checkpoint and the refresh being written, if any, are done. */
  async written(): Promise<void> {
    await Promise.all([this.checkpointing, this.refreshing]);
  }

  private checkpointDue(now: number): boolean {
    return now - this.lastCheckpointAt >= this.deps.checkpointMs;
  }

  private devicesDue(now: number): boolean {
    return now - this.lastDevicesRefreshAt >= DEVICES_REFRESH_MS;
  }
}
