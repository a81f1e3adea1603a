import type { JetStreamClient } from '@nats-io/jetstream';
import type pg from 'pg';
import type { Logger } from 'pino';
import { envelope, type DerivedEvent } from '../core/event.js';
import type { Topology } from '../bus/topology.js';
import type { Metrics } from '../metrics.js';

const DRAIN_BATCH = 500;
const RETRY_MS = 5000;
const encoder = new TextEncoder();

interface EventRow {
  id: string;
  tenant_id: string;
  device_id: string;
  type: DerivedEvent['type'];
  occurred_at: Date;
  data: Record<string, unknown>;
}

/**
 * Publishes committed events to `events.<tenant>.<type>` and marks them published: the relay
 * of a transactional outbox. Events are committed with the fixes that caused them, so a crash
 * between commit and publish loses nothing: whatever is still unpublished is sent at the next
 * start (or retry). A crash after publishing but before marking sends an event twice with the
 * same Nats-Msg-Id, which JetStream drops within its duplicate window.
 */
export class EventPublisher {
  private timer: NodeJS.Timeout | null = null;
  private behind = false;

  constructor(
    private readonly js: JetStreamClient,
    private readonly t: Topology,
    private readonly pool: pg.Pool,
    private readonly log: Logger,
    private readonly metrics: Metrics,
  ) {}

  /** Sends what an earlier process left unpublished, then retries failures periodically. */
  async start(): Promise<void> {
    await this.drain();
    this.timer = setInterval(() => {
      if (this.behind) void this.drain();
    }, RETRY_MS);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** Publishes events of a committed batch, in order. Never throws: a failure is retried later. */
  async publish(events: readonly DerivedEvent[]): Promise<void> {
    if (events.length === 0) return;
    try {
      await this.sendAndMark(events);
    } catch (err) {
      this.behind = true;
      this.log.warn({ err: (err as Error).message, events: events.length }, 'event publish failed; will retry');
    }
  }

  /** Publishes events in order, then marks them published. */
  private async sendAndMark(events: readonly DerivedEvent[]): Promise<void> {
    await Promise.all(events.map((event) =>
      this.js.publish(`${this.t.eventsPrefix}${event.tenantId}.${event.type}`, encoder.encode(envelope(event)), { msgID: event.id })));
    await this.pool.query('UPDATE events SET published_at = now() WHERE id = ANY($1::text[])', [events.map((e) => e.id)]);
    this.metrics.eventsPublished.inc(events.length);
  }

  /** Publishes every unpublished event in commit order. */
  async drain(): Promise<void> {
    this.behind = false;
    try {
      for (;;) {
        const { rows } = await this.pool.query<EventRow>(
          `SELECT id, tenant_id, device_id, type, occurred_at, data FROM events
            WHERE published_at IS NULL ORDER BY seq LIMIT ${DRAIN_BATCH}`,
        );
        if (rows.length === 0) return;
        const events = rows.map((r) => ({ id: r.id, tenantId: r.tenant_id, deviceId: r.device_id, type: r.type, occurredAt: r.occurred_at.getTime(), data: r.data }));
        await this.sendAndMark(events);
        this.log.info({ events: events.length }, 'published events left from before');
      }
    } catch (err) {
      this.behind = true;
      this.log.warn({ err: (err as Error).message }, 'publishing unpublished events failed; will retry');
    }
  }
}
