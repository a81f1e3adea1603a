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
  /** throttle.seconds: at most one delivery per device, type and geofence within this many seconds; null: none. */
  readonly throttleS: number | null;
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
  /** For an endpoint with a throttle: what the event is (device, type, geofence) and when it occurred (epoch ms). */
  readonly throttle: { readonly key: string; readonly occurredAt: number } | null;
}

/**
 * The throttle key of an event's envelope: device, type and geofence (either may be empty), and
 * its occurred_at; null when the body is not an envelope (it is then never throttled).
 */
export function throttleKey(type: string, body: string): { key: string; occurredAt: number } | null {
  let envelope: { device_id?: unknown; occurred_at?: unknown; data?: { geofence_id?: unknown } };
  try {
    envelope = JSON.parse(body) as typeof envelope;
  } catch {
    return null;
  }
  const occurredAt = typeof envelope.occurred_at === 'string' ? Date.parse(envelope.occurred_at) : Number.NaN;
  if (Number.isNaN(occurredAt)) return null;
  const device = typeof envelope.device_id === 'string' ? envelope.device_id : '';
  const geofence = typeof envelope.data?.geofence_id === 'string' ? envelope.data.geofence_id : '';
  return { key: JSON.stringify([device, type, geofence]), occurredAt };
}

/**
 * Which of an endpoint's throttled deliveries go out: in event-time order, one goes unless
 * another of its key that goes (or went: `sent`, the event times already delivered per key)
 * occurred within `seconds` of it. Returns the indexes of those that are throttled.
 */
export function throttled(deliveries: readonly { key: string; occurredAt: number }[], seconds: number, sent: ReadonlyMap<string, readonly number[]>): Set<number> {
  const windowMs = seconds * 1000;
  const going = new Map<string, number[]>();
  for (const [key, times] of sent) going.set(key, [...times]);
  const out = new Set<number>();
  const order = deliveries.map((d, i) => i).sort((a, b) => (deliveries[a] as { occurredAt: number }).occurredAt - (deliveries[b] as { occurredAt: number }).occurredAt);
  for (const i of order) {
    const { key, occurredAt } = deliveries[i] as { key: string; occurredAt: number };
    const times = going.get(key) ?? [];
    if (times.some((t) => Math.abs(t - occurredAt) < windowMs)) {
      out.add(i);
      continue;
    }
    times.push(occurredAt);
    going.set(key, times);
  }
  return out;
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
