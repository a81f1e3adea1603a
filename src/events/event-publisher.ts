import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { DerivedEvent, EventSink } from '../core/event.js';
import type { Metrics } from '../metrics.js';
import { UnstorableError } from '../errors.js';
import { retryDelayMs } from '../retry.js';
import { singleFlight } from '../single-flight.js';

/** Batches of committed events whose publishes are sent at once, then awaited together. */
const WINDOW_BATCHES = 64;

/**
 * The outbox relay of one partition: publishes the events of committed batches in commit
 * order and keeps the watermark, the stream sequence up to which every batch's events are on
 * EVENTS. The watermark is written with a later batch (or at hand-over), never per event; a new
 * owner republishes what lies past it, with the same ids. Publishes are pipelined: the events of
 * every batch queued so far go out together, and a failure retries the same window (JetStream
 * drops the ones it already has) until it goes through.
 */
export class PartitionPublisher {
  private readonly queue: { seq: number; events: readonly DerivedEvent[]; causedAt: ReadonlyMap<string, number> | undefined; queuedAt: number }[] = [];
  /** Publishes the queue, window by window, until it is empty; one run at a time. */
  private readonly drain = singleFlight(() => this.run());
  private closed = false;
  private watermark: number;

  constructor(
    private readonly sink: EventSink,
    publishedSeq: number,
    private readonly log: Logger,
    private readonly metrics: Metrics,
  ) {
    this.watermark = publishedSeq;
  }

  /** Every batch's events are published up to this stream sequence. */
  get published(): number {
    return this.watermark;
  }

  /**
   * Queues the events of the batch committed up to `seq` (none: only the watermark moves).
   * `causedAt`: when the stream stored the fix behind each event, by event id, for the latency.
   */
  enqueue(seq: number, events: readonly DerivedEvent[], causedAt?: ReadonlyMap<string, number>): void {
    if (this.closed) return;
    this.queue.push({ seq, events, causedAt, queuedAt: performance.now() });
    this.metrics.outboxBacklog.inc(events.length);
    void this.drain();
  }

  /** Resolves once everything queued is published (or the publisher was closed). */
  async idle(): Promise<void> {
    while (this.queue.length > 0 && !this.closed) await this.drain();
  }

  /** Stops publishing: the partition was lost, and its new owner publishes from the table. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.metrics.outboxBacklog.dec(this.queue.reduce((n, batch) => n + batch.events.length, 0));
  }

  /**
   * One event to the sink. One it can never take is left out (it stays in the events table,
   * for GET /v1/events) rather than holding up every later event of the partition.
   */
  private async publish(event: DerivedEvent): Promise<unknown> {
    return this.sink(event).catch((err: Error) => {
      if (!(err instanceof UnstorableError)) throw err;
      this.log.error({ err: err.message, eventId: event.id, type: event.type, tenantId: event.tenantId }, 'event left off EVENTS: NATS refuses it');
      this.metrics.unstorable.inc({ kind: 'event' });
    });
  }

  private async run(): Promise<void> {
    for (let attempt = 1; this.queue.length > 0 && !this.closed; ) {
      const window = this.queue.slice(0, WINDOW_BATCHES);
      try {
        await Promise.all(window.flatMap((batch) => batch.events.map((event) => this.publish(event))));
      } catch (err) {
        const delay = retryDelayMs(attempt++);
        this.log.warn({ err: (err as Error).message, retryInMs: delay }, 'event publish failed; retrying');
        await sleep(delay);
        continue;
      }
      attempt = 1;
      this.queue.splice(0, window.length);
      this.watermark = Math.max(this.watermark, window[window.length - 1]?.seq ?? 0);
      const published = window.reduce((n, batch) => n + batch.events.length, 0);
      this.metrics.eventsPublished.inc(published);
      this.metrics.outboxBacklog.dec(published);
      const now = Date.now();
      const publishedAt = performance.now();
      for (const batch of window) {
        if (batch.events.length > 0) this.metrics.stageLatency.observe({ stage: 'publish' }, (publishedAt - batch.queuedAt) / 1000);
        for (const event of batch.events) {
          const at = batch.causedAt?.get(event.id);
          if (at !== undefined) this.metrics.eventLatency.observe(Math.max(0, now - at) / 1000);
        }
      }
    }
  }
}
