import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { DerivedEvent } from '../core/event.js';
import type { Fix } from '../core/fix.js';
import { batchSummaries } from '../core/rules/positions-batch.js';
import { decodeTelemetryMessage } from '../decode/message.js';
import type { SubjectLayout } from '../decode/subject.js';
import { FencedError, UnstorableError } from '../errors.js';
import type { PartitionPublisher } from '../events/event-publisher.js';
import type { Metrics } from '../metrics.js';
import { retryDelayMs } from '../retry.js';
import type { BatchStore, PartitionBatch, PartitionClaim } from '../core/ingest-ports.js';
import type { BatchWriter } from './group-commit.js';
import type { TelemetryMessage } from '../decode/telemetry-message.js';
import { emptyBatch, type Batch } from './batch.js';
import { storeDeadLetter } from './dead-letters.js';
import { withoutUnstorable } from './unstorable-rows.js';
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
 * One partition's pipeline: decode, rules, batch, commit, publish. Messages come in stream
 * order and are taken synchronously (no promise per message); those at or before the
 * partition's committed sequence are a replay (from the last checkpoint) that only rebuilds
 * device state. The rest are batched and committed with group commit: the next batch is written
 * as soon as the previous commit returns, so a batch is what arrived during one commit (small at
 * low load, up to `batchSize` fixes under load; what arrives beyond waits in the next). The
 * consumer's max_ack_pending bounds what is held. Every commit is fenced by the partition's
 * epoch; a committed batch is acknowledged with one ack and its new events handed to the
 * publisher. Device states are checkpointed every `checkpointMs`, not with every batch.
 */
export class PartitionPipeline {
  /** Batches waiting for commit, oldest first; the last one is filling. */
  private queue: Batch[] = [emptyBatch()];
  /** Stream sequence the last batch cut for commit reaches. */
  private lastCutSeq = 0;
  private committing: Promise<void> | null = null;
  private readonly upkeep: PartitionUpkeep;
  /** Stream sequence of the last message run through the rules. */
  private processedSeq: number;
  private lastStoredAt = 0;
  private lastAcceptedAt = 0;
  private readonly startedAt: number;
  private lost = false;
  private finishing = false;
  private replayedUnacked = 0;
  /** The publish watermark as last committed. */
  private persistedPublishedSeq: number;
  private readonly clock: () => number;

  constructor(private readonly deps: PipelineDeps) {
    this.clock = deps.clock ?? Date.now;
    this.processedSeq = deps.claim.checkpointSeq;
    this.persistedPublishedSeq = deps.claim.publishedSeq;
    this.startedAt = this.clock();
    const { claim, engine, store, log, settings } = deps;
    this.upkeep = new PartitionUpkeep({ claim, engine, store, log, checkpointMs: settings.checkpointMs, clock: this.clock });
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

  private get filling(): Batch {
    return this.queue[this.queue.length - 1] as Batch;
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
      for (const refused of decoded.rejected) this.filling.deadLetters.push(storeDeadLetter(msg, decoded.tenantId, refused, decoded.encoding, this.deps.log, metrics));
    }
    for (const fix of decoded.fixes) this.derive(fix, msg.storedAt, replay);
    if (decoded.assignment !== undefined) this.keep(this.deps.engine.assignDriver(decoded.assignment, msg.storedAt), replay, msg.storedAt);
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
    const batch = this.filling;
    batch.messages.push(msg);
    batch.lastSeq = msg.seq;
    if (batch.fixes.length >= this.deps.settings.batchSize) this.queue.push(emptyBatch());
    this.commitSoon();
  }

  /** Runs a fix through the rules; on a replay only the device state is kept. */
  private derive(fix: Fix, receivedAt: number, replay: boolean): void {
    const { engine, metrics, log } = this.deps;
    if (!replay) this.filling.fixes.push(fix);
    const outcome = engine.process(fix, receivedAt);
    if (outcome.slot === null) {
      if (replay) return;
      metrics.fixesStale.inc();
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

  /** A device's changed state, to checkpoint, and its events unless replayed. */
  private keep(outcome: EngineOutcome, replay: boolean, storedAt: number): void {
    if (outcome.slot === null) return;
    this.upkeep.changed(outcome.slot);
    if (!replay) this.addEvents(outcome.events, storedAt);
  }

  /** Events into the filling batch; `storedAt`: when the stream stored the message behind them. */
  private addEvents(events: readonly DerivedEvent[], storedAt?: number): void {
    const batch = this.filling;
    for (const event of events) {
      batch.events.push(event);
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
    this.commitSoon();
  }

  /** Commits the publish watermark and a due checkpoint even when no message comes. */
  tick(): void {
    if (this.deps.publisher.published > this.persistedPublishedSeq || this.upkeep.due()) this.commitSoon(true);
  }

  /** Starts a commit of what is pending unless one is running; its end starts the next. */
  private commitSoon(force = false): void {
    if (this.committing !== null || this.lost || this.finishing) return;
    const head = this.queue[0] as Batch;
    if (!force && head.messages.length === 0 && head.events.length === 0) return;
    const batch = this.cut();
    this.committing = this.commit(batch).finally(() => {
      this.committing = null;
      this.commitSoon();
    });
  }

  /** Takes the oldest batch for commit (the filling one is replaced by an empty one). */
  private cut(): Batch {
    const batch = this.queue.length > 1 ? (this.queue.shift() as Batch) : (this.queue.splice(0, 1, emptyBatch())[0] as Batch);
    batch.lastSeq = Math.max(batch.lastSeq, this.lastCutSeq, this.deps.claim.committedSeq);
    this.lastCutSeq = batch.lastSeq;
    return batch;
  }

  /**
   * The batch's commit, retried until it succeeds; fenced, the partition is dropped. A due
   * checkpoint or devices refresh is taken as of this batch and written once it is committed,
   * beside the next batches rather than in their way.
   */
  private async commit(batch: Batch, upkeepNow = false): Promise<void> {
    const { writer, metrics, log, publisher, claim } = this.deps;
    const upkeep = this.upkeep.take(batch.lastSeq, this.processedSeq === batch.lastSeq, upkeepNow);
    const summaries = batchSummaries(batch.fixes, (tenantId) => this.deps.engine.rulesFor(tenantId).positionsBatch, claim.partition, batch.lastSeq);
    for (const event of summaries) metrics.eventsDerived.inc({ type: event.type });
    const events = summaries.length === 0 ? batch.events : [...batch.events, ...summaries];
    let contents: PartitionBatch = { hold: claim, lastSeq: batch.lastSeq, publishedSeq: publisher.published, fixes: batch.fixes, events };
    const cutAt = performance.now();
    for (let attempt = 1; ; attempt++) {
      if (this.lost) return;
      if (!this.deps.held()) return this.lose('the lease lapsed');
      try {
        const newEvents = await writer.write(contents);
        if (attempt > 1) log.info({ attempts: attempt, partition: claim.partition }, 'database write succeeded again');
        metrics.stageLatency.observe({ stage: 'commit' }, (performance.now() - cutAt) / 1000);
        await Promise.all(batch.deadLetters);
        if (this.lost) return;
        batch.messages[batch.messages.length - 1]?.ack();
        metrics.inFlight.dec(batch.messages.length);
        this.persistedPublishedSeq = Math.max(this.persistedPublishedSeq, contents.publishedSeq);
        publisher.enqueue(contents.lastSeq, newEvents, batch.causedAt);
        this.recordLag(batch.fixes);
        this.upkeep.start(upkeep);
        return;
      } catch (err) {
        if (err instanceof FencedError) return this.lose(err.message);
        if (err instanceof UnstorableError) {
          const rest = await withoutUnstorable(batch, contents, { ...this.deps, unmoved: (slot) => this.upkeep.unmoved(slot) }).catch((probeErr: Error) => {
            log.warn({ err: probeErr.message, partition: claim.partition }, 'finding the rows PostgreSQL refuses failed; retrying');
            return null;
          });
          if (rest !== null) {
            contents = rest;
            continue;
          }
        }
        const delay = retryDelayMs(attempt);
        log.warn({ err: (err as Error).message, attempt, retryInMs: delay, fixes: batch.fixes.length, partition: claim.partition }, 'database write failed; retrying');
        // Keep JetStream from redelivering what we still hold while the database is away.
        for (const msg of batch.messages) msg.working();
        await sleep(delay);
      }
    }
  }

  /** Now minus the newest fix time of a committed batch, for the on-call's "how far behind". */
  private recordLag(fixes: readonly Fix[]): void {
    if (fixes.length === 0) return;
    let newest = 0;
    for (const fix of fixes) if (fix.ts > newest) newest = fix.ts;
    this.deps.metrics.ingestLag.set({ partition: String(this.deps.claim.partition) }, Math.max(0, this.clock() - newest) / 1000);
  }

  private lose(why: string): void {
    if (this.lost) return;
    this.abandon();
    this.deps.onLost(why);
  }

  /** Drops what is in hand, uncommitted: the partition was lost, or shutdown ran out of time. */
  abandon(): void {
    this.lost = true;
    this.deps.metrics.inFlight.dec(this.queue.reduce((n, batch) => n + batch.messages.length, 0));
    this.queue = [emptyBatch()];
    this.deps.publisher.close();
  }

  /**
   * Hand-over, once no more messages come: commits what is in hand with a checkpoint, waits for
   * its events to be published and records the watermark, so that the next owner starts here
   * without a replay. Resolves true when all of that was done.
   */
  async finish(): Promise<boolean> {
    this.finishing = true;
    while (this.committing !== null) await this.committing;
    while (!this.lost && this.queue.length > 1) await this.commit(this.cut());
    if (this.lost) return false;
    await this.upkeep.written();
    await this.commit(this.cut(), true);
    await Promise.all([this.upkeep.written(), this.deps.publisher.idle()]);
    if (!this.lost && this.deps.publisher.published > this.persistedPublishedSeq) await this.commit(this.cut());
    return !this.lost;
  }
}
