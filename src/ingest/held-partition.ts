import type { Logger } from 'pino';
import type { IngestBus } from '../bus/ingest-bus.js';
import type { PartitionConsumer } from '../bus/partition-consumer.js';
import type { EventSink } from '../core/event.js';
import type { BatchStore, PartitionClaim, PartitionStore } from '../core/ingest-ports.js';
import type { RuleSource } from '../core/rule-source.js';
import { PartitionPublisher } from '../events/event-publisher.js';
import type { Metrics } from '../metrics.js';
import type { BatchWriter } from '../pipeline/group-commit.js';
import { PartitionPipeline, type PipelineSettings } from '../pipeline/partition-pipeline.js';
import { RuleEngine } from '../pipeline/rule-engine.js';
import { orAfter } from '../timeout.js';
import { republishUnpublished } from './takeover-republish.js';

const SWEEP_MS = 10_000;
const TICK_MS = 250;
const CONSUMER_STOP_MS = 2000;
/** A partition whose consumer has messages waiting while its pipeline took none for this long is stalled. */
const STALLED_MS = 15_000;

/** What `work` resolves to if it does within `ms`; false when it is late or fails. */
export function within(work: Promise<boolean>, ms: number): Promise<boolean> {
  return orAfter(work.catch(() => false), ms, false);
}

export interface HeldPartitionDeps {
  readonly bus: IngestBus;
  readonly telemetryPrefix: string;
  readonly partitions: PartitionStore;
  readonly batches: BatchStore;
  readonly writer: BatchWriter;
  readonly rules: RuleSource;
  readonly events: EventSink;
  readonly metrics: Metrics;
  readonly log: Logger;
  readonly settings: PipelineSettings & { readonly leaseMs: number; readonly lateFixHistory: number };
  readonly commandKey: string;
}

/**
 * One partition this processor holds under a lease: its claim in the database, its pipeline and
 * its consumer, from taking it to stopping it.
 */
export class HeldPartition {
  /** Until when the lease is surely ours (its last renewal was sent before this minus the lease time). */
  validUntil: number;
  pipeline: PartitionPipeline | null = null;
  consumer: PartitionConsumer | null = null;
  private timers: NodeJS.Timeout[] = [];
  /** Set once the partition is being stopped or was lost. */
  ending = false;

  constructor(
    readonly partition: number,
    public revision: number,
    /** When its lease was taken. */
    readonly takenAt: number,
    private readonly deps: HeldPartitionDeps,
  ) {
    this.validUntil = takenAt + deps.settings.leaseMs;
  }

  /**
   * Claims the partition (a new epoch, which fences the previous owner), republishes what that
   * owner committed but may not have published, loads the checkpoint and replays the stream
   * from it. Rejects when any of that fails; `onLost` hears when the partition is found lost.
   */
  async start(partitionCount: number, owner: string, onLost: (why: string) => void): Promise<void> {
    const { partitions: store, log, settings, metrics } = this.deps;
    const { partition } = this;
    const claim = await store.claim(partitionCount, partition, owner);
    const publisher = new PartitionPublisher(this.deps.events, claim.publishedSeq, log, metrics);
    // The republish and the device states (with their histories) are read side by side: a
    // partition waits for both before it consumes, so a takeover takes the longer of the two.
    const [, { engine, restored, historyFixes }] = await Promise.all([
      republishUnpublished(claim, publisher, { ...this.deps, partitions: store }),
      this.loadEngine(claim),
    ]);
    if (this.ending) return;
    const pipeline = new PartitionPipeline({
      claim, layout: { prefix: this.deps.telemetryPrefix, partitions: partitionCount }, commandKey: this.deps.commandKey,
      engine, writer: this.deps.writer, store: this.deps.batches, announce: (positions) => this.deps.bus.announceDevices(positions), publisher, metrics, log, settings,
      held: () => Date.now() < this.validUntil,
      onLost,
    });
    this.pipeline = pipeline;
    this.consumer = await this.deps.bus.consume(partition, partitionCount, claim.checkpointSeq + 1, claim.epoch, pipeline);
    this.timers = [setInterval(() => pipeline.sweep(), SWEEP_MS), setInterval(() => pipeline.tick(), TICK_MS)];
    metrics.partitionHeld.set({ partition: String(partition) }, 1);
    log.info({ partition, epoch: claim.epoch, replayFrom: claim.checkpointSeq + 1, committedSeq: claim.committedSeq, devices: engine.deviceCount, histories: restored, historyFixes, takeMs: Date.now() - this.takenAt }, 'partition taken');
    if (this.ending) await this.stop(false);
  }

  /** The partition's device states as checkpointed, each with its late-fix history rebuilt from the stored fixes. */
  private async loadEngine(claim: PartitionClaim): Promise<{ engine: RuleEngine; restored: number; historyFixes: number }> {
    const { partitions: store, settings } = this.deps;
    const states = await store.loadStates(claim);
    const engine = new RuleEngine(this.deps.rules, states, settings.lateFixHistory);
    const withHistory = states.filter((row) => row.historyBase !== undefined && row.historyBase !== null);
    const stored = await store.storedFixes(withHistory.map((row) => ({ tenantId: row.tenantId, deviceId: row.deviceId, from: row.historyBase?.from ?? 0 })));
    return { engine, restored: engine.restoreHistories(withHistory, stored), historyFixes: stored.length };
  }

  /**
   * Stops consuming; `graceful`: commits what is in hand and resolves true once it is, else
   * drops it uncommitted.
   */
  async stop(graceful: boolean): Promise<boolean> {
    for (const timer of this.timers) clearInterval(timer);
    // The pipeline takes nothing more once it finishes or is abandoned, so a consumer slow to
    // close is left to close in its own time.
    if (this.consumer !== null && !(await within(this.consumer.stop().then(() => true), CONSUMER_STOP_MS))) {
      this.deps.log.warn({ partition: this.partition }, 'partition consumer did not close in time; going on without it');
    }
    if (!graceful) {
      this.pipeline?.abandon();
      return false;
    }
    return (await this.pipeline?.finish()) ?? false;
  }

  /**
   * Why the partition is held but not consumed, or null: its consumer closed, it did not start
   * within two lease times, or its consumer has messages waiting while its pipeline has taken
   * none for STALLED_MS. Also records the consumer's backlog.
   */
  async notConsumed(now: number): Promise<string | null> {
    if (this.consumer?.closed) return 'its consumer closed';
    if (this.consumer === null) return now - this.takenAt > 2 * this.deps.settings.leaseMs ? 'it did not start in time' : null;
    const pending = await this.consumer.pending().catch(() => null);
    if (pending === null) return null;
    this.deps.metrics.consumerPending.set({ partition: String(this.partition) }, pending);
    const idleMs = this.pipeline?.idleMs ?? 0;
    return pending > 0 && idleMs > STALLED_MS ? `its consumer stalled (${pending} pending, nothing taken for ${idleMs} ms)` : null;
  }
}
