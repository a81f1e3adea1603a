import type { Logger } from 'pino';
import type { Metrics } from '../metrics.js';
import type { AttemptRecorder } from './attempt-recorder.js';
import type { AttemptOutcome, Delivery } from '../core/delivery.js';
import { customHeadersError } from './endpoint-headers.js';
import type { HttpSender } from './http-sender.js';
import { verdictAfter, type RetryPolicy } from './retry-schedule.js';
import { signatureHeaders } from './signature.js';

export interface DispatcherSettings {
  readonly retry: RetryPolicy;
  /** Attempts in progress at once per endpoint. */
  readonly concurrency: number;
  /** Deliveries held per endpoint, waiting or in progress. */
  readonly maxHeld: number;
}

/** An attempt that was never sent, with why. */
function refusedAttempt(error: string): AttemptOutcome {
  return { startedAt: new Date(), statusCode: null, latencyMs: 0, error, responseBody: null, retryAfter: undefined };
}

interface EndpointQueue {
  readonly waiting: Delivery[];
  active: number;
}

/**
 * Sends deliveries, each endpoint from its own queue with its own concurrency limit, so that a
 * slow or dead endpoint fills only its own slots and never delays another endpoint's deliveries.
 */
export class DeliveryDispatcher {
  private readonly queues = new Map<string, EndpointQueue>();
  /** Every delivery held, from enqueue until its attempt is recorded. */
  private readonly held = new Set<string>();
  private readonly inProgress = new Set<Promise<void>>();
  private stopping = false;

  constructor(
    private readonly sender: Pick<HttpSender, 'send'>,
    private readonly recorder: AttemptRecorder,
    private readonly settings: DispatcherSettings,
    private readonly metrics: Metrics,
    private readonly log: Logger,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Takes a delivery; false when its endpoint already holds as many as it may, or the dispatcher is stopping. */
  enqueue(delivery: Delivery): boolean {
    if (this.held.has(delivery.id)) return true;
    if (this.stopping || this.room(delivery.endpoint.id) === 0) return false;
    let queue = this.queues.get(delivery.endpoint.id);
    if (!queue) {
      queue = { waiting: [], active: 0 };
      this.queues.set(delivery.endpoint.id, queue);
    }
    this.held.add(delivery.id);
    queue.waiting.push(delivery);
    this.pump(queue);
    this.showDepth(delivery.endpoint.id);
    return true;
  }

  /** How many more deliveries the endpoint may be given. */
  room(endpointId: string): number {
    const queue = this.queues.get(endpointId);
    return queue ? Math.max(0, this.settings.maxHeld - queue.waiting.length - queue.active) : this.settings.maxHeld;
  }

  /** The room of every endpoint the dispatcher has a queue for. */
  rooms(): Map<string, number> {
    return new Map([...this.queues.keys()].map((id) => [id, this.room(id)]));
  }

  /**
   * Stops starting attempts; waits for those in progress to be answered and recorded. Returns
   * the ids of the deliveries still waiting, whose leases the caller releases.
   */
  async stop(): Promise<string[]> {
    this.stopping = true;
    const waiting = [...this.queues.values()].flatMap((q) => q.waiting.splice(0).map((d) => d.id));
    while (this.inProgress.size > 0) await Promise.all(this.inProgress);
    await this.recorder.flushed();
    return waiting;
  }

  private pump(queue: EndpointQueue): void {
    while (!this.stopping && queue.active < this.settings.concurrency && queue.waiting.length > 0) {
      const delivery = queue.waiting.shift() as Delivery;
      queue.active++;
      const running = this.attempt(delivery, () => {
        queue.active--;
        this.pump(queue);
        this.showDepth(delivery.endpoint.id);
      });
      this.inProgress.add(running);
      // attempt() handles its own failures; a throw here is a bug, logged with its delivery
      // rather than left as an unhandled rejection that would stop every tenant's work.
      void running.catch((err: unknown) => {
        this.metrics.unhandledErrors.inc({ source: 'webhook_dispatcher' });
        this.log.error({ err, delivery: delivery.id, endpoint: delivery.endpoint.id }, 'webhook attempt failed unexpectedly; its lease will bring it back');
      }).finally(() => this.inProgress.delete(running));
    }
  }

  private showDepth(endpointId: string): void {
    const queue = this.queues.get(endpointId);
    const depth = queue ? queue.waiting.length + queue.active : 0;
    this.metrics.webhookQueueDepth.set({ endpoint: endpointId }, depth);
    if (queue && depth === 0) this.queues.delete(endpointId);
  }

  /** One signed attempt (or a refusal to send it); never throws. */
  private async send(delivery: Delivery, attempt: number): Promise<AttemptOutcome> {
    const { endpoint } = delivery;
    // Headers stored before a rule was added are checked again: refused, the attempt fails with why.
    const headerProblem = customHeadersError(endpoint.headers);
    if (headerProblem !== null) return refusedAttempt(`request not sent: ${headerProblem}`);
    try {
      const signed = signatureHeaders(endpoint.secret, { eventId: delivery.eventId, eventType: delivery.eventType, body: delivery.body, attempt }, Math.floor(this.clock() / 1000));
      // Custom headers first: they may add to the request but never replace a signature header.
      return await this.sender.send({ url: endpoint.url, headers: { ...endpoint.headers, ...signed }, body: delivery.body });
    } catch (err) {
      return refusedAttempt(`request not sent: ${(err as Error).message}`);
    }
  }

  /** One signed attempt; `answered` frees the endpoint's slot as soon as the answer is in. */
  private async attempt(delivery: Delivery, answered: () => void): Promise<void> {
    const { endpoint } = delivery;
    const attempt = delivery.attempts + 1;
    let outcome: AttemptOutcome;
    try {
      outcome = await this.send(delivery, attempt);
    } finally {
      answered();
    }
    const verdict = verdictAfter(this.settings.retry, attempt, outcome, this.clock(), Math.random());
    const labels = { endpoint: endpoint.id };
    this.metrics.webhookAttempts.inc(labels);
    this.metrics.webhookLatency.observe(labels, outcome.latencyMs / 1000);
    if (verdict.status !== 'succeeded') {
      this.metrics.webhookAttemptFailures.inc(labels);
      this.log.debug({ delivery: delivery.id, endpoint: endpoint.id, attempt, error: outcome.error }, 'webhook attempt failed');
    }
    if (verdict.status === 'failed') {
      this.metrics.webhookDeliveriesFailed.inc(labels);
      this.log.warn({ delivery: delivery.id, endpoint: endpoint.id, attempts: attempt, error: outcome.error }, 'webhook delivery failed after its last attempt');
    }
    await this.recorder.record({ deliveryId: delivery.id, attempt, outcome, verdict });
    this.held.delete(delivery.id);
  }
}
