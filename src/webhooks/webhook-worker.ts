import type { Logger } from 'pino';
import type { EventFeed, FedEvent } from '../bus/event-feed.js';
import type { Metrics } from '../metrics.js';
import { retryUntilDone } from '../retry.js';
import { writeApartOnDataError } from '../store/database.js';
import { AttemptRecorder } from './attempt-recorder.js';
import { DeliveryDispatcher } from './delivery-dispatcher.js';
import { pruneEndpointSeries, setQueueAges } from './endpoint-metrics.js';
import type { Delivery, DeliveryStore, NewDelivery } from '../core/delivery.js';
import { isRefusedEvent, readEventMessage } from './event-message.js';
import { plannedDeliveries, type FannedEvent } from './fan-out.js';
import { HttpSender } from './http-sender.js';
import type { RetryPolicy } from './retry-schedule.js';

/** The webhook worker's settings (WEBHOOK_* in docs/configuration.md). */
export interface WebhookSettings {
  /** Lets endpoints target loopback, private and link-local addresses (tests, local demos). */
  readonly allowPrivate: boolean;
  /** An attempt without a complete answer within this many ms has failed. */
  readonly timeoutMs: number;
  readonly retry: RetryPolicy;
  /** Attempts in progress at once per endpoint: a slow endpoint holds only its own slots. */
  readonly endpointConcurrency: number;
  /** How often the worker looks for retries that are due, replays and test events. */
  readonly pollMs: number;
}

export interface WebhookWorkerDeps {
  /** The events to fan out: the worker's durable subscription to EVENTS. */
  readonly feed: EventFeed;
  /** Where deliveries and their attempts are kept. */
  readonly deliveries: DeliveryStore;
  readonly settings: WebhookSettings;
  readonly metrics: Metrics;
  readonly log: Logger;
}

/** Events fanned out to deliveries per transaction. */
const FAN_OUT_BATCH = 500;
const CLAIM_LIMIT = 1000;
/** Deliveries held per endpoint, as a multiple of its concurrency. */
const HELD_PER_SLOT = 4;
/** Time a lease leaves for recording an attempt after its answer. */
const LEASE_MARGIN_MS = 5000;
const SHUTDOWN_GRACE_MS = 3000;
/** Metric series of deleted endpoints are pruned, and queue ages read, every this many polls (5 s by default). */
const PRUNE_EVERY_POLLS = 20;

const decoder = new TextDecoder();

/**
 * The webhook worker: consumes `EVENTS`, records a delivery for every enabled endpoint whose
 * subscription matches, acknowledges the events once their deliveries are committed, and sends
 * them through the dispatcher. Retries, replays and test events wait in the table until due,
 * found by a poll. Every delivery is leased while a worker holds it, so deliveries held by a
 * worker that died are taken up again once their leases end.
 */
export class WebhookWorker {
  private readonly sender: HttpSender;
  private readonly recorder: AttemptRecorder;
  private readonly dispatcher: DeliveryDispatcher;
  private readonly leaseMs: number;
  private readonly maxHeld: number;
  private subscription: { close(): Promise<void> } | null = null;
  private loop: Promise<void> | null = null;
  private pollTimer: NodeJS.Timeout | null = null;
  private pruneTimer: NodeJS.Timeout | null = null;
  private polling: Promise<void> | null = null;
  private incoming: FedEvent[] = [];
  private fanningOut: Promise<void> | null = null;

  constructor(private readonly deps: WebhookWorkerDeps) {
    const { settings } = deps;
    this.maxHeld = settings.endpointConcurrency * HELD_PER_SLOT;
    // A held delivery waits at most HELD_PER_SLOT attempts of its endpoint, then takes one.
    this.leaseMs = settings.timeoutMs * (HELD_PER_SLOT + 1) + LEASE_MARGIN_MS;
    this.sender = new HttpSender(settings.timeoutMs, settings.allowPrivate);
    this.recorder = new AttemptRecorder(deps.deliveries, deps.log, deps.metrics);
    this.dispatcher = new DeliveryDispatcher(
      this.sender, this.recorder, { retry: settings.retry, concurrency: settings.endpointConcurrency, maxHeld: this.maxHeld }, deps.metrics, deps.log,
    );
  }

  async start(): Promise<void> {
    const subscription = await this.deps.feed.open((msg) => {
      this.incoming.push(msg);
      this.fanningOut ??= this.fanOutAll();
    }, FAN_OUT_BATCH * 2);
    this.subscription = subscription;
    this.loop = subscription.ended.catch((err: unknown) => this.deps.log.error({ err }, 'webhook consumer stopped with an error'));
    this.pollTimer = setInterval(() => {
      this.polling ??= this.claimDue().finally(() => (this.polling = null));
    }, this.deps.settings.pollMs);
    this.pruneTimer = setInterval(() => {
      const { deliveries, metrics } = this.deps;
      Promise.all([deliveries.existingEndpointIds(), deliveries.pendingAges()]).then(async ([ids, ages]) => {
        await pruneEndpointSeries(metrics, ids);
        setQueueAges(metrics, ids, ages);
      }).catch((err: Error) => {
        this.deps.log.warn({ err: err.message }, 'could not update the webhook endpoints\' metric series; will try again');
      });
    }, this.deps.settings.pollMs * PRUNE_EVERY_POLLS);
  }

  /** Stops taking work, lets attempts in progress finish and be recorded, and hands back the rest. */
  async stop(): Promise<void> {
    if (this.pollTimer) clearInterval(this.pollTimer);
    if (this.pruneTimer) clearInterval(this.pruneTimer);
    await this.subscription?.close();
    await this.loop;
    await this.fanningOut;
    await this.polling;
    // Attempts still unanswered after the grace period are cut off (and retried later), so that
    // shutdown ends within the 10 s the contract gives it whatever the endpoints do.
    const stopped = this.dispatcher.stop();
    const grace = setTimeout(() => this.sender.close(), SHUTDOWN_GRACE_MS);
    const waiting = await stopped;
    clearTimeout(grace);
    await this.deps.deliveries.releaseLeases(waiting).catch((err: Error) => this.deps.log.warn({ err: err.message }, 'could not release webhook leases; they will run out'));
    this.sender.close();
  }

  private async fanOutAll(): Promise<void> {
    while (this.incoming.length > 0) {
      const batch = this.incoming.splice(0, FAN_OUT_BATCH);
      await retryUntilDone(() => this.fanOut(batch), (err, _attempt, delay) => {
        this.deps.log.warn({ err: err.message, events: batch.length, retryInMs: delay }, 'recording webhook deliveries failed; retrying');
        for (const msg of batch) msg.working();
      });
    }
    this.fanningOut = null;
  }

  /** Records the deliveries of a batch of events, acknowledges the events, and sends what fits. */
  private async fanOut(batch: readonly FedEvent[]): Promise<void> {
    const { feed, log, metrics } = this.deps;
    const events: FannedEvent[] = [];
    for (const msg of batch) {
      const body = decoder.decode(msg.data);
      const read = readEventMessage(feed.eventsPrefix, msg.subject, msg.msgId, body);
      if (!isRefusedEvent(read)) {
        events.push({ header: read, body });
        continue;
      }
      log.error({ subject: msg.subject, seq: msg.seq, code: read.rejection.code, reason: read.rejection.message }, 'an EVENTS message is not fencewire\'s envelope; dead-lettered, not delivered');
      metrics.eventsRefused.inc({ code: read.rejection.code });
      // Once: a dead letter NATS will not take is dropped rather than holding up the fan-out.
      await msg.deadLetter(read.tenantId, read.rejection)
        .catch((err: Error) => log.error({ err: err.message, subject: msg.subject }, 'dead letter of an EVENTS message dropped'));
    }
    const endpoints = await this.deps.deliveries.enabledEndpoints([...new Set(events.map((e) => e.header.tenantId))]);
    const deliveries = plannedDeliveries(events, endpoints, (id) => this.dispatcher.room(id));
    const created = await this.recordDeliveries(deliveries);
    for (const msg of batch) msg.ack();
    const refused = created.filter((delivery) => !this.dispatcher.enqueue(delivery));
    await this.deps.deliveries.releaseLeases(refused.map((d) => d.id));
  }

  /**
   * Records the deliveries; a batch PostgreSQL refuses for its data is recorded event by event,
   * and an event refused alone is logged and counted, not retried forever (it would hold up every
   * event after it, of every tenant).
   */
  private async recordDeliveries(deliveries: readonly NewDelivery[]): Promise<Delivery[]> {
    const byEvent = new Map<string, NewDelivery[]>();
    for (const delivery of deliveries) byEvent.set(delivery.eventId, [...(byEvent.get(delivery.eventId) ?? []), delivery]);
    return writeApartOnDataError([...byEvent.values()], (events) => this.deps.deliveries.insertDeliveries(events.flat(), this.leaseMs), async (ofEvent, err) => {
      this.deps.log.error({ eventId: ofEvent[0]?.eventId, type: ofEvent[0]?.eventType, reason: err.message }, 'PostgreSQL refused an event\'s deliveries; it is not delivered');
      this.deps.metrics.eventsRefused.inc({ code: 'unstorable' });
      return [];
    });
  }

  /** Takes the deliveries that are due (retries, replays, test events, and orphans of a dead worker). */
  private async claimDue(): Promise<void> {
    try {
      const due = await this.deps.deliveries.claimDue(this.dispatcher.rooms(), this.maxHeld, CLAIM_LIMIT, this.leaseMs);
      const refused = due.filter((delivery) => !this.dispatcher.enqueue(delivery));
      await this.deps.deliveries.releaseLeases(refused.map((d) => d.id));
    } catch (err) {
      this.deps.log.warn({ err: (err as Error).message }, 'looking for due webhook deliveries failed; will retry');
    }
  }
}
