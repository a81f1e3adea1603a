import { setTimeout as sleep } from 'node:timers/promises';
import type { Fix } from '../core/fix.js';
import type { PartitionBatch } from '../core/ingest-ports.js';
import { BATCH_EVENTS } from '../core/event-sources.js';
import { FencedError, UnstorableError } from '../errors.js';
import type { PartitionPublisher } from '../events/event-publisher.js';
import { retryDelayMs } from '../retry.js';
import { emptyBatch, type Batch } from './batch.js';
import type { BatchWriter } from './group-commit.js';
import { withoutUnstorable, type UnstorableDeps } from './unstorable-rows.js';
import type { RuleEngine } from './rule-engine.js';
import type { PartitionUpkeep } from './upkeep.js';

export interface CommitQueueDeps extends Omit<UnstorableDeps, 'unmoved' | 'engine'> {
  /** The rules' engine: a tenant's positions.batch setting, and the probe's device slots. */
  readonly engine: Pick<RuleEngine, 'slotWithLatest' | 'rulesFor'>;
  /** Commits batches (grouped with other partitions'). */
  readonly writer: BatchWriter;
  readonly publisher: PartitionPublisher;
  readonly upkeep: PartitionUpkeep;
  /** False once the lease may have lapsed: nothing more is committed. */
  readonly held: () => boolean;
  /** Called once when the partition is found lost (fenced or lease lapsed). */
  readonly lose: (why: string) => void;
  /**
   * The stream sequence the rules have reached, so that a checkpoint is taken only as of a batch
   * that holds everything processed.
   */
  readonly processedSeq: () => number;
  readonly clock: () => number;
}

/**
 * The commit side of a partition's pipeline: batches waiting for commit, oldest first (the last
 * one filling), committed one at a time with group commit. The next batch is written as soon as
 * the previous commit returns, so a batch is what arrived during one commit. Every commit is
 * fenced by the partition's epoch; a committed batch is acknowledged with one ack and its new
 * events handed to the publisher.
 */
export class CommitQueue {
  private queue: Batch[] = [emptyBatch()];
  /** Stream sequence the last batch cut for commit reaches. */
  private lastCutSeq = 0;
  private committing: Promise<void> | null = null;
  /** The publish watermark as last committed. */
  private persistedPublishedSeq: number;
  private stopped = false;
  private finishing = false;

  constructor(private readonly deps: CommitQueueDeps) {
    this.persistedPublishedSeq = deps.claim.publishedSeq;
  }

  /** The batch new messages go into. */
  get filling(): Batch {
    return this.queue[this.queue.length - 1] as Batch;
  }

  /** True when the publisher is ahead of the watermark last committed. */
  get watermarkBehind(): boolean {
    return this.deps.publisher.published > this.persistedPublishedSeq;
  }

  /** Closes the filling batch: what comes after fills the next one. */
  closeFilling(): void {
    this.queue.push(emptyBatch());
  }

  /** Starts a commit of what is pending unless one is running; its end starts the next. */
  commitSoon(force = false): void {
    if (this.committing !== null || this.stopped || this.finishing) return;
    const head = this.queue[0] as Batch;
    if (!force && head.messages.length === 0 && head.events.length === 0) return;
    this.committing = this.commit(this.cut()).finally(() => {
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
    const upkeep = this.deps.upkeep.take(batch.lastSeq, this.deps.processedSeq() === batch.lastSeq, upkeepNow);
    const summaries = BATCH_EVENTS.positionsBatch(batch.fixes, (tenantId) => this.deps.engine.rulesFor(tenantId).positionsBatch, claim.partition, batch.lastSeq);
    for (const event of summaries) metrics.eventsDerived.inc({ type: event.type });
    const events = summaries.length === 0 ? batch.events : [...batch.events, ...summaries];
    let contents: PartitionBatch = { hold: claim, lastSeq: batch.lastSeq, publishedSeq: publisher.published, fixes: batch.fixes, events };
    const cutAt = performance.now();
    for (let attempt = 1; ; attempt++) {
      if (this.stopped) return;
      if (!this.deps.held()) return this.deps.lose('the lease lapsed');
      try {
        const newEvents = await writer.write(contents);
        if (attempt > 1) log.info({ attempts: attempt, partition: claim.partition }, 'database write succeeded again');
        metrics.stageLatency.observe({ stage: 'commit' }, (performance.now() - cutAt) / 1000);
        await Promise.all(batch.deadLetters);
        if (this.stopped) return;
        batch.messages[batch.messages.length - 1]?.ack();
        metrics.inFlight.dec(batch.messages.length);
        this.persistedPublishedSeq = Math.max(this.persistedPublishedSeq, contents.publishedSeq);
        publisher.enqueue(contents.lastSeq, newEvents, batch.causedAt);
        this.recordLag(batch.fixes);
        this.deps.upkeep.start(upkeep);
        return;
      } catch (err) {
        if (err instanceof FencedError) return this.deps.lose(err.message);
        if (err instanceof UnstorableError) {
          const rest = await withoutUnstorable(batch, contents, { ...this.deps, unmoved: (slot) => this.deps.upkeep.unmoved(slot) }).catch((probeErr: Error) => {
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
    this.deps.metrics.ingestLag.set({ partition: String(this.deps.claim.partition) }, Math.max(0, this.deps.clock() - newest) / 1000);
  }

  /** Drops what is in hand, uncommitted, and commits nothing more. */
  abandon(): void {
    this.stopped = true;
    this.deps.metrics.inFlight.dec(this.queue.reduce((n, batch) => n + batch.messages.length, 0));
    this.queue = [emptyBatch()];
    this.deps.publisher.close();
  }

  /**
   * Commits what is in hand with a checkpoint, waits for its events to be published and records
   * the watermark. Resolves true when all of that was done (false: the partition was lost).
   */
  async finish(): Promise<boolean> {
    this.finishing = true;
    while (this.committing !== null) await this.committing;
    while (!this.stopped && this.queue.length > 1) await this.commit(this.cut());
    if (this.stopped) return false;
    await this.deps.upkeep.written();
    await this.commit(this.cut(), true);
    await Promise.all([this.deps.upkeep.written(), this.deps.publisher.idle()]);
    if (!this.stopped && this.watermarkBehind) await this.commit(this.cut());
    return !this.stopped;
  }
}
