import { createHash, randomBytes } from 'node:crypto';

// Webhook deliveries as the worker, the dispatcher and the store share them, and the store's
// port: the worker depends on this, PostgreSQL's implementation lives in src/store/.

/** An endpoint as the worker needs it to send. */
export interface Endpoint {
  readonly id: string;
  readonly tenantId: string;
  readonly url: string;
  readonly events: readonly string[];
  readonly secret: string;
  readonly headers: Readonly<Record<string, string>>;
}

/** A delivery held by a worker: what to send, to whom, and how many attempts were made. */
export interface Delivery {
  readonly id: string;
  readonly endpoint: Endpoint;
  readonly eventId: string;
  readonly eventType: string;
  readonly body: string;
  /** Attempts made before this one. */
  readonly attempts: number;
}

export interface AttemptRecord {
  readonly deliveryId: string;
  readonly attempt: number;
  readonly outcome: AttemptOutcome;
  readonly verdict: Verdict;
}

/** What one attempt produced; `statusCode` is null when no answer came (timeout, refused, ...). */
export interface AttemptOutcome {
  readonly startedAt: Date;
  readonly statusCode: number | null;
  readonly latencyMs: number;
  readonly error: string | null;
  /** The first KiB of the answer's body, NUL and lone surrogates replaced (U+FFFD) so that it can be stored. */
  readonly responseBody: string | null;
  /** The answer's Retry-After header, if any. */
  readonly retryAfter: string | undefined;
}

/** What becomes of a delivery after an attempt. */
export type Verdict =
  | { readonly status: 'succeeded' }
  | { readonly status: 'failed' }
  | { readonly status: 'pending'; readonly nextAttemptAt: Date };

export interface NewDelivery {
  readonly endpoint: Endpoint;
  readonly eventId: string;
  readonly eventType: string;
  readonly body: string;
  /** Leased to this worker, which sends it at once; else it waits in the table for a poll. */
  readonly leased: boolean;
}

/** The id of the first delivery of an event to an endpoint: the same on every redelivery of the event. */
export function firstDeliveryId(endpointId: string, eventId: string): string {
  return `dlv_${createHash('sha256').update(`${endpointId}\u0000${eventId}`).digest('hex').slice(0, 26)}`;
}

/** The id of a delivery asked for by a person (a replay, a test event). */
export function requestedDeliveryId(): string {
  return `dlv_${randomBytes(13).toString('hex')}`;
}

/** Where deliveries, their endpoints and their attempts are kept (store/delivery-store.ts). */
export interface DeliveryStore {
  /** The enabled endpoints of the given tenants. */
  enabledEndpoints(tenantIds: readonly string[]): Promise<Endpoint[]>;
  /** The ids of every endpoint that exists, enabled or not. */
  existingEndpointIds(): Promise<Set<string>>;
  /** Seconds since the oldest pending delivery of each endpoint with one was created. */
  pendingAges(): Promise<Map<string, number>>;
  /**
   * Records first deliveries, the leased ones leased for `leaseMs`, and returns the leased ones
   * that did not exist yet: an event delivered to the worker again creates nothing new.
   */
  insertDeliveries(deliveries: readonly NewDelivery[], leaseMs: number): Promise<Delivery[]>;
  /**
   * Leases, for `leaseMs`, pending deliveries that are due, at most `room` per endpoint: the
   * room in `rooms`, `defaultRoom` for endpoints not listed; at most `limit` in all.
   */
  claimDue(rooms: ReadonlyMap<string, number>, defaultRoom: number, limit: number, leaseMs: number): Promise<Delivery[]>;
  /** Logs attempts and applies their verdicts, all at once; their leases end. */
  recordAttempts(records: readonly AttemptRecord[]): Promise<void>;
  /** Ends leases on deliveries held but not to be sent (at shutdown). */
  releaseLeases(deliveryIds: readonly string[]): Promise<void>;
}
