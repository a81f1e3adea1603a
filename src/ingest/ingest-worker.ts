import type { ConsumerMessages, JetStreamClient, JsMsg } from '@nats-io/jetstream';
import type { Logger } from 'pino';
import type { Fix } from '../decode/fix.js';
import { decodeTelemetryMessage } from '../decode/message.js';
import type { Topology } from '../bus/topology.js';
import type { Metrics } from '../metrics.js';
import type { PositionStore } from '../store/position-store.js';
import { publishDeadLetter } from './dead-letter.js';
import { retryDelayMs } from './retry.js';

export interface IngestSettings {
  readonly batchSize: number;
  readonly flushMs: number;
  readonly maxInFlight: number;
  /** Batches written at once, each on its own connection. */
  readonly writers: number;
}

export interface IngestDeps {
  readonly js: JetStreamClient;
  readonly topology: Topology;
  readonly store: PositionStore;
  readonly metrics: Metrics;
  readonly log: Logger;
  readonly settings: IngestSettings;
  /** The NATS server's max_payload: a dead letter must fit in it. */
  readonly maxPayload: number;
  readonly clock?: () => number;
}

/** Messages whose fixes are written together, acknowledged together after the commit. */
interface Batch {
  readonly messages: JsMsg[];
  readonly fixes: Fix[];
}

const PENDING_POLL_MS = 5000;

/**
 * Ingest: pulls telemetry from JetStream, decodes it, dead-letters what is refused, writes the
 * fixes in batches and acknowledges each message only once its fixes are committed. Up to
 * `writers` batches are written while the next one fills; a failing database stalls
 * consumption (back-pressure, bounded by the consumer's max_ack_pending) and each write is
 * retried until it succeeds.
 */
export class IngestWorker {
  private messages: ConsumerMessages | null = null;
  private pending: Batch = { messages: [], fixes: [] };
  private readonly writing = new Set<Promise<void>>();
  private flushTimer: NodeJS.Timeout | null = null;
  private pendingTimer: NodeJS.Timeout | null = null;
  private loop: Promise<void> = Promise.resolve();
  private stopping = false;
  /** Set when shutdown ran out of time: a failing write then gives up, unacknowledged. */
  private abandoned = false;
  private readonly clock: () => number;

  constructor(private readonly deps: IngestDeps) {
    this.clock = deps.clock ?? Date.now;
  }

  /** Starts consuming; returns once the consumer is attached. */
  async start(): Promise<void> {
    const { js, topology, settings } = this.deps;
    const consumer = await js.consumers.get(topology.telemetryStream, topology.ingestConsumer);
    this.messages = await consumer.consume({ max_messages: Math.min(1000, settings.maxInFlight) });
    this.flushTimer = setInterval(() => {
      if (this.pending.messages.length > 0) void this.flush();
    }, settings.flushMs);
    this.pendingTimer = setInterval(() => {
      consumer.info(false).then(
        (info) => this.deps.metrics.consumerPending.set(info.num_pending),
        () => undefined,
      );
    }, PENDING_POLL_MS);
    this.loop = this.run(this.messages);
  }

  private async run(messages: ConsumerMessages): Promise<void> {
    try {
      for await (const msg of messages) {
        await this.accept(msg);
        if (this.pending.fixes.length >= this.deps.settings.batchSize) await this.flush();
      }
    } catch (err) {
      this.deps.log.error({ err }, 'ingest consumer stopped with an error');
    }
  }

  private async accept(msg: JsMsg): Promise<void> {
    const { js, topology, metrics } = this.deps;
    metrics.inFlight.inc();
    const decoded = decodeTelemetryMessage(msg.subject, topology.telemetryPrefix, msg.data, msg.headers?.get('Content-Type') || undefined, this.clock());
    metrics.fixesReceived.inc(decoded.fixes.length + decoded.rejected.length);
    for (const refused of decoded.rejected) {
      try {
        await publishDeadLetter(js, topology, decoded.tenantId, msg, refused, decoded.encoding, this.deps.maxPayload);
      } catch (err) {
        // Not acknowledged, so JetStream redelivers the message and the dead letter is retried.
        this.deps.log.warn({ err: (err as Error).message, subject: msg.subject }, 'dead-letter publish failed; message will be redelivered');
        msg.nak(1000);
        metrics.inFlight.dec();
        return;
      }
      metrics.fixesRejected.inc({ code: refused.rejection.code });
    }
    if (decoded.rejected.length > 0) {
      this.deps.log.debug({ subject: msg.subject, codes: decoded.rejected.map((r) => r.rejection.code) }, 'reports dead-lettered');
    }
    if (decoded.fixes.length === 0) {
      msg.ack();
      metrics.inFlight.dec();
      return;
    }
    this.pending.messages.push(msg);
    for (const fix of decoded.fixes) this.pending.fixes.push(fix);
  }

  /**
   * Starts writing the filling batch. Resolves once fewer than `writers` writes are running, so
   * that the consumer waits (and stops pulling) while the database is the bottleneck.
   */
  private async flush(): Promise<void> {
    const batch = this.pending;
    if (batch.messages.length > 0) {
      this.pending = { messages: [], fixes: [] };
      const write = this.commit(batch).finally(() => this.writing.delete(write));
      this.writing.add(write);
    }
    while (this.writing.size >= this.deps.settings.writers) await Promise.race(this.writing);
  }

  private async commit(batch: Batch): Promise<void> {
    const { store, metrics, log } = this.deps;
    for (let attempt = 1; ; attempt++) {
      const timer = metrics.writeDuration.startTimer();
      try {
        const { inserted } = await store.writeBatch(batch.fixes);
        timer();
        metrics.batchSize.observe(batch.fixes.length);
        metrics.fixesWritten.inc(inserted);
        metrics.fixesDuplicate.inc(batch.fixes.length - inserted);
        if (attempt > 1) log.info({ attempts: attempt }, 'database write succeeded again');
        break;
      } catch (err) {
        metrics.writeFailures.inc();
        if (this.abandoned) {
          log.warn({ fixes: batch.fixes.length }, 'shutting down with a batch unwritten; JetStream will redeliver it');
          return;
        }
        const delay = retryDelayMs(attempt);
        log.warn({ err: (err as Error).message, attempt, retryInMs: delay, fixes: batch.fixes.length }, 'database write failed; retrying');
        // Keep JetStream from redelivering what we still hold while the database is away.
        for (const msg of batch.messages) msg.working();
        await sleep(delay);
      }
    }
    for (const msg of batch.messages) msg.ack();
    metrics.inFlight.dec(batch.messages.length);
  }

  /**
   * Stops fetching, writes and acknowledges what is in hand, then resolves. A batch still
   * unwritten after `timeoutMs` (the database is down) is left unacknowledged: JetStream
   * redelivers it to the next processor. Resolves true when everything in hand was committed.
   */
  async stop(timeoutMs: number): Promise<boolean> {
    if (this.stopping) return false;
    this.stopping = true;
    if (this.flushTimer) clearInterval(this.flushTimer);
    if (this.pendingTimer) clearInterval(this.pendingTimer);
    const drained = (async () => {
      // close() lets the iterator yield what it has buffered, then ends the loop.
      await this.messages?.close();
      await this.loop;
      await this.flush();
      await Promise.all(this.writing);
      return true;
    })();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    const committed = await Promise.race([drained, timedOut]);
    clearTimeout(timer);
    if (!committed) this.abandoned = true;
    return committed;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
