import type { ConsumerMessages, JetStreamClient, JsMsg } from '@nats-io/jetstream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { DerivedEvent } from '../core/event.js';
import { deviceKey, type Fix } from '../decode/fix.js';
import { decodeTelemetryMessage } from '../decode/message.js';
import type { Topology } from '../bus/topology.js';
import type { Metrics } from '../metrics.js';
import type { RuleEngine } from '../pipeline/rule-engine.js';
import type { BatchStore, DeviceStateRow } from '../store/batch-store.js';
import { publishDeadLetter } from './dead-letter.js';
import { retryDelayMs, retryUntilDone } from '../retry.js';

export interface IngestSettings {
  readonly batchSize: number;
  readonly flushMs: number;
  readonly maxInFlight: number;
}

/**
 * Batches in hand besides the one filling: one being committed, one queued behind it. Commits
 * run strictly in order, one at a time: a batch carries the device states that follow from
 * every earlier batch, so committing batch k+1 before batch k would, after a crash between the
 * two, leave k's fixes looking stale on redelivery and lose k's events.
 */
const BATCHES_IN_HAND = 2;

/** Where committed events go next; publishes in the order it is called. */
export interface CommittedEventSink {
  publish(events: readonly DerivedEvent[]): Promise<void>;
}

export interface IngestDeps {
  readonly js: JetStreamClient;
  readonly topology: Topology;
  readonly store: BatchStore;
  readonly engine: RuleEngine;
  readonly events: CommittedEventSink;
  readonly metrics: Metrics;
  readonly log: Logger;
  readonly settings: IngestSettings;
  /** The NATS server's max_payload: a dead letter must fit in it. */
  readonly maxPayload: number;
  readonly clock?: () => number;
}

/** What one transaction commits: messages are acknowledged together after it. */
interface Batch {
  readonly messages: JsMsg[];
  readonly fixes: Fix[];
  /** The newest state of each device the batch changed. */
  readonly states: Map<string, DeviceStateRow>;
  readonly events: DerivedEvent[];
}

const PENDING_POLL_MS = 5000;
const SWEEP_MS = 10_000;

function emptyBatch(): Batch {
  return { messages: [], fixes: [], states: new Map(), events: [] };
}

/**
 * Ingest: pulls telemetry from JetStream, decodes it, dead-letters what is refused, runs each
 * fix through the rules in delivery order, and writes fixes, device states and events in one
 * transaction per batch. A message is acknowledged only once its batch is committed; the
 * batch's events are published afterwards, batch after batch in order. Batches are committed
 * one at a time, in order, while the next one fills; a failing database stalls consumption
 * (back-pressure, bounded by the consumer's max_ack_pending) and each write is retried until
 * it succeeds.
 */
export class IngestWorker {
  private messages: ConsumerMessages | null = null;
  private pending: Batch = emptyBatch();
  private readonly writing = new Set<Promise<void>>();
  /** Resolves when the previous batch is committed (true) or abandoned (false). */
  private committed: Promise<boolean> = Promise.resolve(true);
  /** Resolves when the previous batch's events are published: keeps events in order. */
  private published: Promise<void> = Promise.resolve();
  private timers: NodeJS.Timeout[] = [];
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
    const { js, topology, settings, metrics } = this.deps;
    const consumer = await js.consumers.get(topology.telemetryStream, topology.ingestConsumer);
    this.messages = await consumer.consume({ max_messages: Math.min(1000, settings.maxInFlight) });
    this.timers = [
      // The timer flushes a partial batch only while nothing is being written: under load the
      // batch keeps filling behind the running commit instead of being cut into small ones.
      setInterval(() => {
        if (this.writing.size === 0 && (this.pending.messages.length > 0 || this.pending.events.length > 0)) void this.flush();
      }, settings.flushMs),
      setInterval(() => {
        consumer.info(false).then((info) => metrics.consumerPending.set(info.num_pending), () => undefined);
        metrics.devicesKnown.set(this.deps.engine.deviceCount);
      }, PENDING_POLL_MS),
      setInterval(() => this.sweep(), SWEEP_MS),
    ];
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
    const now = this.clock();
    const decoded = decodeTelemetryMessage(msg.subject, topology.telemetryPrefix, msg.data, msg.headers?.get('Content-Type') || undefined, now);
    metrics.fixesReceived.inc(decoded.fixes.length + decoded.rejected.length);
    for (const refused of decoded.rejected) {
      // Retried in place rather than nak'ed: a redelivery would come back behind newer fixes of
      // the same device, and the rules would take its good fixes for late ones.
      await retryUntilDone(() => publishDeadLetter(js, topology, decoded.tenantId, msg, refused, decoded.encoding, this.deps.maxPayload), (err, _attempt, delay) => {
        this.deps.log.warn({ err: err.message, subject: msg.subject, retryInMs: delay }, 'dead-letter publish failed; retrying');
        msg.working();
      });
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
    for (const fix of decoded.fixes) {
      this.pending.fixes.push(fix);
      this.derive(fix, now);
    }
  }

  /** Runs a fix through the rules; its events and the device's new state join the batch. */
  private derive(fix: Fix, now: number): void {
    const { engine, metrics, log } = this.deps;
    const outcome = engine.process(fix, now);
    if (outcome.state === null) {
      metrics.fixesStale.inc();
      return;
    }
    this.pending.states.set(deviceKey(fix.tenantId, fix.deviceId), outcome.state);
    this.addEvents(outcome.events);
    for (const failure of outcome.failures) {
      metrics.ruleFailures.inc({ rule: failure.rule });
      log.error({ rule: failure.rule, err: (failure.error as Error)?.message, tenantId: fix.tenantId, deviceId: fix.deviceId }, 'rule failed on a fix');
    }
  }

  private addEvents(events: readonly DerivedEvent[]): void {
    for (const event of events) {
      this.pending.events.push(event);
      this.deps.metrics.eventsDerived.inc({ type: event.type });
    }
  }

  private sweep(): void {
    const swept = this.deps.engine.sweep(this.clock());
    for (const row of swept.states) this.pending.states.set(deviceKey(row.tenantId, row.deviceId), row);
    this.addEvents(swept.events);
  }

  /**
   * Queues the filling batch for commit after the previous one, and its events for publishing
   * after the previous batch's. Resolves once few enough batches are in hand, so that the
   * consumer waits (and stops pulling) while the database is the bottleneck.
   */
  private async flush(): Promise<void> {
    const batch = this.pending;
    if (batch.messages.length > 0 || batch.events.length > 0 || batch.states.size > 0) {
      this.pending = emptyBatch();
      this.committed = this.committed.then((ok) => (ok ? this.commit(batch) : false));
      const committed = this.committed;
      const previous = this.published;
      this.published = Promise.all([committed, previous]).then(([ok]) => (ok ? this.deps.events.publish(batch.events) : undefined));
      const done = this.published.finally(() => this.writing.delete(done));
      this.writing.add(done);
    }
    while (this.writing.size >= BATCHES_IN_HAND) await Promise.race(this.writing);
  }

  /** Writes a batch until it succeeds, then acknowledges its messages. False if abandoned. */
  private async commit(batch: Batch): Promise<boolean> {
    const { store, metrics, log } = this.deps;
    const contents = { fixes: batch.fixes, deviceStates: [...batch.states.values()], events: batch.events };
    for (let attempt = 1; ; attempt++) {
      const timer = metrics.writeDuration.startTimer();
      try {
        const { inserted } = await store.writeBatch(contents);
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
          return false;
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
    return true;
  }

  /**
   * Stops fetching, writes and acknowledges what is in hand, then resolves. A batch still
   * unwritten after `timeoutMs` (the database is down) is left unacknowledged: JetStream
   * redelivers it to the next processor. Resolves true when everything in hand was committed.
   */
  async stop(timeoutMs: number): Promise<boolean> {
    if (this.stopping) return false;
    this.stopping = true;
    for (const timer of this.timers) clearInterval(timer);
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
