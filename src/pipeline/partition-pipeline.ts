import type { Logger } from 'pino';
import type { DerivedEvent } from '../core/event.js';
import type { DevicePosition, Fix } from '../core/fix.js';
import { decodeTelemetryMessage } from '../decode/message.js';
import type { SubjectLayout } from '../decode/subject.js';
import type { PartitionPublisher } from '../events/event-publisher.js';
import type { Metrics } from '../metrics.js';
import type { BatchStore, PartitionClaim } from '../core/ingest-ports.js';
import type { BatchWriter } from './group-commit.js';
import type { TelemetryMessage } from '../decode/telemetry-message.js';
import { addEvent } from './batch.js';
import { CommitQueue } from './commit-queue.js';
import { storeDeadLetter } from './dead-letters.js';
import type { EngineOutcome, RuleEngine } from './rule-engine.js';
import { PartitionUpkeep } from './upkeep.js';

export interface PipelineSettings {
  /** Fixes at which a filling batch is closed: what comes after fills the next one. */
  readonly batchSize: number;
  /** How often the partition's changed device states are checkpointed. */
  readonly checkpointMs: number;
}

export interface PipelineDeps {
  readonly claim: PartitionClaim;
  readonly layout: SubjectLayout;
  /** The key commands are signed with (src/core/command-signature.ts). */
  readonly commandKey: string;
  readonly engine: RuleEngine;
  /** Commits batches (grouped with other partitions'). */
  readonly writer: BatchWriter;
  /** Checkpoints and devices refreshes, and the probe for rows PostgreSQL refuses. */
  readonly store: Pick<BatchStore, 'checkpoint' | 'refreshDevices' | 'unstorable'>;
  /** Tells the API's live queries what the devices table was refreshed with. */
  readonly announce: (positions: readonly DevicePosition[]) => void;
  readonly publisher: PartitionPublisher;
  readonly metrics: Metrics;
  readonly log: Logger;
  readonly settings: PipelineSettings;
  /** False once the lease may have lapsed: nothing more is committed. */
  readonly held: () => boolean;
  /** Called once when the partition is found lost (fenced or lease lapsed). */
  readonly onLost: (why: string) => void;
  readonly clock?: () => number;
}

/** Replayed messages between acknowledgements. */
const REPLAY_ACK_EVERY = 500;

/** A sweep runs only when the partition is not working through a backlog older than this. */
const CAUGHT_UP_MS = 2000;

/**
 * One partition's pipeline: decode, rules, batch, then commit and publish (CommitQueue).
 * Messages come in stream order and are taken synchronously (no promise per message); those at
 * or before the partition's committed sequence are a replay (from the last checkpoint) that only
 * rebuilds device state. A batch holds up to `batchSize` fixes; the consumer's max_ack_pending
 * bounds what is held. Device states are checkpointed every `checkpointMs`, not with every batch.
 */
export class PartitionPipeline {
  private readonly commits: CommitQueue;
  private readonly upkeep: PartitionUpkeep;
  /** Stream sequence of the last message run through the rules. */
  private processedSeq: number;
  private lastStoredAt = 0;
  private lastAcceptedAt = 0;
  private readonly startedAt: number;
  private lost = false;
  private finishing = false;
  private replayedUnacked = 0;
  private readonly clock: () => number;

  constructor(private readonly deps: PipelineDeps) {
    this.clock = deps.clock ?? Date.now;
    this.processedSeq = deps.claim.checkpointSeq;
    this.startedAt = this.clock();
    const { claim, engine, store, log, settings } = deps;
    this.upkeep = new PartitionUpkeep({ claim, engine, store, announce: deps.announce, log, checkpointMs: settings.checkpointMs, clock: this.clock });
    this.commits = new CommitQueue({
      ...deps, upkeep: this.upkeep, clock: this.clock,
      lose: (why) => this.lose(why),
      processedSeq: () => this.processedSeq,
    });
  }

  get deviceCount(): number {
    return this.deps.engine.deviceCount;
  }

  /** Milliseconds since the pipeline last took a message (since it started, before the first). */
  get idleMs(): number {
    return this.clock() - Math.max(this.lastAcceptedAt, this.startedAt);
  }

  get isLost(): boolean {
    return this.lost;
  }

  /** Runs one message through decoding and the rules into the filling batch. */
  accept(msg: TelemetryMessage): void {
    // After a hand-over's last cut, a message is left to the next owner.
    if (this.lost || this.finishing) return;
    if (!this.deps.held()) return this.lose('the lease lapsed');
    const { layout, metrics, claim } = this.deps;
    const startedAt = performance.now();
    const replay = msg.seq <= claim.committedSeq;
    const command = msg.command === undefined ? undefined : { ...msg.command, key: this.deps.commandKey };
    const decoded = decodeTelemetryMessage(msg.subject, layout, msg.data, msg.contentType, msg.storedAt, command);
    if (!replay) {
      metrics.fixesReceived.inc(decoded.fixes.length + decoded.rejected.length);
      for (const refused of decoded.rejected) this.commits.filling.deadLetters.push(storeDeadLetter(msg, decoded.tenantId, refused, decoded.encoding, this.deps.log, metrics));
    }
    for (const fix of decoded.fixes) this.derive(fix, msg.storedAt, replay);
    if (decoded.assignment !== undefined) this.keep(this.deps.engine.assignDriver(decoded.assignment, msg.storedAt), replay, msg.storedAt);
    if (decoded.tagging !== undefined) this.reshow(this.deps.engine.setTags(decoded.tagging), replay, msg.storedAt);
    if (decoded.routing !== undefined) this.reshow(this.deps.engine.assignRoute(decoded.routing), replay, msg.storedAt);
    if (decoded.inbound !== undefined && !replay) this.addEvents(this.deps.engine.inbound(decoded.inbound), msg.storedAt);
    this.processedSeq = msg.seq;
    this.lastStoredAt = msg.storedAt;
    this.lastAcceptedAt = this.clock();
    if (replay) {
      // Acknowledged now and then, so that a long replay does not fill max_ack_pending.
      if (++this.replayedUnacked >= REPLAY_ACK_EVERY || msg.seq === claim.committedSeq) {
        msg.ack();
        this.replayedUnacked = 0;
      }
      return;
    }
    metrics.inFlight.inc();
    metrics.stageLatency.observe({ stage: 'consume_wait' }, Math.max(0, this.clock() - msg.storedAt) / 1000);
    metrics.stageLatency.observe({ stage: 'rules' }, (performance.now() - startedAt) / 1000);
    const batch = this.commits.filling;
    batch.messages.push(msg);
    batch.lastSeq = msg.seq;
    if (batch.fixes.length >= this.deps.settings.batchSize) this.commits.closeFilling();
    this.commits.commitSoon();
  }

  /** Runs a fix through the rules; on a replay only the device state is kept. */
  private derive(fix: Fix, receivedAt: number, replay: boolean): void {
    const { engine, metrics, log } = this.deps;
    if (!replay) this.commits.filling.fixes.push(fix);
    const outcome = engine.process(fix, receivedAt);
    if (!replay && outcome.outcome !== undefined && outcome.outcome !== 'in_order') {
      metrics.lateFixes.inc({ outcome: outcome.outcome });
      if (outcome.replayed !== undefined) metrics.lateFixReplayed.observe(outcome.replayed);
    }
    if (outcome.slot === null) {
      if (replay) return;
      return this.addEvents(outcome.events, receivedAt);
    }
    // Replayed fixes too: the previous owner may have stored them without refreshing the devices.
    this.upkeep.moved(outcome.slot);
    this.keep(outcome, replay, receivedAt);
    if (replay) return;
    for (const failure of outcome.failures) {
      metrics.ruleFailures.inc({ rule: failure.rule });
      log.error({ rule: failure.rule, err: (failure.error as Error)?.message, tenantId: fix.tenantId, deviceId: fix.deviceId }, 'rule failed on a fix');
    }
  }

  /** New tags or a new route: the device's state, and its row of the devices table (where they are shown). */
  private reshow(outcome: EngineOutcome, replay: boolean, storedAt: number): void {
    if (outcome.slot === null) return;
    this.upkeep.moved(outcome.slot);
    this.keep(outcome, replay, storedAt);
  }

  /** A device's changed state, to checkpoint, and its events unless replayed. */
  private keep(outcome: EngineOutcome, replay: boolean, storedAt: number): void {
    if (outcome.slot === null) return;
    this.upkeep.changed(outcome.slot);
    if (!replay) this.addEvents(outcome.events, storedAt);
  }

  /** Events into the filling batch; `storedAt`: when the stream stored the message behind them. */
  private addEvents(events: readonly DerivedEvent[], storedAt?: number): void {
    const batch = this.commits.filling;
    for (const event of events) {
      if (!addEvent(batch, event)) continue;
      if (storedAt !== undefined) batch.causedAt.set(event.id, storedAt);
      this.deps.metrics.eventsDerived.inc({ type: event.type });
    }
  }

  /**
   * device.offline for the partition's silent devices. Skipped during a replay or while a
   * backlog is being worked off: the receive times the rules hold are then old, and every device
   * would look silent.
   */
  sweep(): void {
    if (this.lost || this.processedSeq < this.deps.claim.committedSeq) return;
    const now = this.clock();
    if (now - this.lastAcceptedAt < CAUGHT_UP_MS && this.lastAcceptedAt - this.lastStoredAt > CAUGHT_UP_MS) return;
    const swept = this.deps.engine.sweep(now);
    for (const slot of swept.slots) this.upkeep.changed(slot);
    this.addEvents(swept.events);
    this.commits.commitSoon();
  }

  /** Commits the publish watermark and a due checkpoint even when no message comes. */
  tick(): void {
    if (this.commits.watermarkBehind || this.upkeep.due()) this.commits.commitSoon(true);
  }

  private lose(why: string): void {
    if (this.lost) return;
    this.abandon();
    this.deps.onLost(why);
  }

  /** Drops what is in hand, uncommitted: the partition was lost, or shutdown ran out of time. */
  abandon(): void {
    this.lost = true;
    this.commits.abandon();
  }

  /**
   * Hand-over, once no more messages come: commits what is in hand with a checkpoint, waits for
   * its events to be published and records the watermark, so that the next owner starts here
   * without a replay. Resolves true when all of that was done.
   */
  async finish(): Promise<boolean> {
    this.finishing = true;
    return (await this.commits.finish()) && !this.lost;
  }
}
