import type pg from 'pg';
import { firstDeliveryId, throttled, type AttemptRecord, type Delivery, type DeliveryStore, type Endpoint, type NewDelivery } from '../core/delivery.js';
import { inTransaction } from './database.js';

/** The deliveries of webhook events in PostgreSQL. */
export function deliveryStore(db: pg.Pool): DeliveryStore {
  return {
    enabledEndpoints: (tenantIds) => enabledEndpoints(db, tenantIds),
    existingEndpointIds: () => existingEndpointIds(db),
    pendingAges: () => pendingAges(db),
    insertDeliveries: (deliveries, leaseMs) => insertDeliveries(db, deliveries, leaseMs),
    claimDue: (rooms, defaultRoom, limit, leaseMs) => claimDueDeliveries(db, rooms, defaultRoom, limit, leaseMs),
    recordAttempts: (records) => recordAttempts(db, records),
    releaseLeases: (deliveryIds) => releaseLeases(db, deliveryIds),
  };
}

interface EndpointRow {
  id: string;
  tenant_id: string;
  url: string;
  events: string[];
  secret: string;
  headers: Record<string, string>;
  throttle_s: number | null;
}

function endpointFromRow(row: EndpointRow): Endpoint {
  return { id: row.id, tenantId: row.tenant_id, url: row.url, events: row.events, secret: row.secret, headers: row.headers, throttleS: row.throttle_s };
}

/** The enabled endpoints of the given tenants. */
async function enabledEndpoints(db: pg.Pool, tenantIds: readonly string[]): Promise<Endpoint[]> {
  const { rows } = await db.query<EndpointRow>(
    'SELECT id, tenant_id, url, events, secret, headers, throttle_s FROM webhook_endpoints WHERE enabled AND tenant_id = ANY($1::text[])', [tenantIds],
  );
  return rows.map(endpointFromRow);
}

/** The ids of every endpoint that exists, enabled or not. */
async function existingEndpointIds(db: pg.Pool): Promise<Set<string>> {
  const { rows } = await db.query<{ id: string }>('SELECT id FROM webhook_endpoints');
  return new Set(rows.map((r) => r.id));
}

/** Seconds since the oldest pending delivery of each endpoint with one was created. */
async function pendingAges(db: pg.Pool): Promise<Map<string, number>> {
  const { rows } = await db.query<{ endpoint_id: string; age: number }>(
    `SELECT endpoint_id, extract(epoch FROM now() - min(created_at))::float8 AS age FROM webhook_deliveries WHERE status = 'pending' GROUP BY endpoint_id`,
  );
  return new Map(rows.map((r) => [r.endpoint_id, r.age]));
}

/**
 * Records first deliveries, each with its body, leased to this worker where `leased`, skipping
 * those that exist already: an event delivered to the worker again creates nothing new. Each
 * event's body is stored once (webhook_bodies), not once per endpoint. Deliveries to endpoints
 * with a throttle are decided in a transaction of their own (insertThrottled).
 */
async function insertDeliveries(db: pg.Pool, deliveries: readonly NewDelivery[], leaseMs: number): Promise<Delivery[]> {
  const limited = deliveries.filter((d) => d.throttle !== null);
  const plain = limited.length === 0 ? deliveries : deliveries.filter((d) => d.throttle === null);
  const created = await insertRows(db, plain, leaseMs, new Set());
  return limited.length === 0 ? created : [...created, ...(await insertThrottled(db, limited, leaseMs))];
}

/**
 * Throttled endpoints' deliveries: under a transaction lock per endpoint and throttle key (so
 * that two workers fanning out events of one device decide one after the other), the event
 * times already delivered near these are read, and each delivery goes out or is recorded as
 * 'throttled' (throttled() in src/core/delivery.ts).
 */
async function insertThrottled(db: pg.Pool, deliveries: readonly NewDelivery[], leaseMs: number): Promise<Delivery[]> {
  const pairs = [...new Set(deliveries.map((d) => JSON.stringify([d.endpoint.id, d.throttle?.key])))].sort().map((p) => JSON.parse(p) as [string, string]);
  const windowMs = Math.max(...deliveries.map((d) => (d.endpoint.throttleS ?? 0) * 1000));
  const times = deliveries.map((d) => d.throttle?.occurredAt as number);
  return inTransaction(db, async (client) => {
    await client.query(`SELECT pg_advisory_xact_lock(hashtextextended(e || '|' || k, 0)) FROM unnest($1::text[], $2::text[]) AS p (e, k)`,
      [pairs.map(([e]) => e), pairs.map(([, k]) => k)]);
    const { rows } = await client.query<{ endpoint_id: string; throttle_key: string; ms: number }>(
      `SELECT d.endpoint_id, d.throttle_key, extract(epoch FROM d.occurred_at)::float8 * 1000 AS ms
         FROM webhook_deliveries d JOIN unnest($1::text[], $2::text[]) AS p (e, k) ON d.endpoint_id = p.e AND d.throttle_key = p.k
        WHERE d.status <> 'throttled' AND d.occurred_at > to_timestamp($3 / 1000.0) AND d.occurred_at < to_timestamp($4 / 1000.0)`,
      [pairs.map(([e]) => e), pairs.map(([, k]) => k), Math.min(...times) - windowMs, Math.max(...times) + windowMs]);
    const out = new Set<number>();
    for (const endpointId of new Set(deliveries.map((d) => d.endpoint.id))) {
      const own = deliveries.flatMap((d, i) => (d.endpoint.id === endpointId ? [i] : []));
      const sent = new Map<string, number[]>();
      for (const r of rows) if (r.endpoint_id === endpointId) sent.set(r.throttle_key, [...(sent.get(r.throttle_key) ?? []), r.ms]);
      const first = deliveries[own[0] as number] as NewDelivery;
      for (const j of throttled(own.map((i) => (deliveries[i] as NewDelivery).throttle as { key: string; occurredAt: number }), first.endpoint.throttleS as number, sent)) out.add(own[j] as number);
    }
    return insertRows(client, deliveries, leaseMs, out);
  });
}

/** Inserts the deliveries (those at `throttledAt` as 'throttled', done at once); the leased new ones come back. */
async function insertRows(db: pg.Pool | pg.PoolClient, deliveries: readonly NewDelivery[], leaseMs: number, throttledAt: ReadonlySet<number>): Promise<Delivery[]> {
  if (deliveries.length === 0) return [];
  const byId = new Map(deliveries.map((d, i) => [firstDeliveryId(d.endpoint.id, d.eventId), { d, throttled: throttledAt.has(i) }]));
  const bodies = new Map(deliveries.map((d) => [d.eventId, d.body]));
  const { rows } = await db.query<{ id: string }>(
    `WITH bodies AS (
       INSERT INTO webhook_bodies (event_id, body) SELECT * FROM unnest($8::text[], $9::text[]) ON CONFLICT DO NOTHING)
     INSERT INTO webhook_deliveries (id, endpoint_id, tenant_id, event_id, event_type, lease_until, status, completed_at, throttle_key, occurred_at)
     SELECT id, endpoint_id, tenant_id, event_id, event_type, CASE WHEN leased AND NOT throttled THEN now() + $7 * interval '1 millisecond' END,
            CASE WHEN throttled THEN 'throttled' ELSE 'pending' END, CASE WHEN throttled THEN now() END, key, to_timestamp(ms / 1000.0)
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::boolean[], $10::boolean[], $11::text[], $12::float8[])
            AS d (id, endpoint_id, tenant_id, event_id, event_type, leased, throttled, key, ms)
     ON CONFLICT DO NOTHING RETURNING id`,
    [[...byId.keys()], deliveries.map((d) => d.endpoint.id), deliveries.map((d) => d.endpoint.tenantId),
      deliveries.map((d) => d.eventId), deliveries.map((d) => d.eventType), deliveries.map((d) => d.leased), leaseMs, [...bodies.keys()], [...bodies.values()],
      [...byId.values()].map((v) => v.throttled), deliveries.map((d) => d.throttle?.key ?? null), deliveries.map((d) => d.throttle?.occurredAt ?? null)],
  );
  return rows.flatMap((row) => {
    const { d, throttled: out } = byId.get(row.id) as { d: NewDelivery; throttled: boolean };
    return d.leased && !out ? [{ id: row.id, endpoint: d.endpoint, eventId: d.eventId, eventType: d.eventType, body: d.body, attempts: 0 }] : [];
  });
}

/**
 * Leases, for `leaseMs`, pending deliveries that are due, of enabled endpoints, at most `room`
 * per endpoint: the room left in the worker's queue for the endpoints listed in `rooms`, and
 * `defaultRoom` for the others. A lease that ran out (its worker died) makes a delivery due
 * again. The UPDATE re-checks the lease on the locked row, so two workers never both take one.
 */
async function claimDueDeliveries(
  db: pg.Pool, rooms: ReadonlyMap<string, number>, defaultRoom: number, limit: number, leaseMs: number,
): Promise<Delivery[]> {
  const { rows } = await db.query<EndpointRow & { delivery_id: string; event_id: string; event_type: string; body: string; attempts: number }>(
    `WITH candidates AS (
       SELECT d.id, d.endpoint_id, d.next_attempt_at,
              row_number() OVER (PARTITION BY d.endpoint_id ORDER BY d.next_attempt_at) AS n
         FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id
        WHERE d.status = 'pending' AND d.next_attempt_at <= now() AND (d.lease_until IS NULL OR d.lease_until < now())
          AND e.enabled),
     due AS (
       SELECT c.id FROM candidates c LEFT JOIN unnest($1::text[], $2::int[]) AS r (endpoint_id, room) ON r.endpoint_id = c.endpoint_id
        WHERE c.n <= coalesce(r.room, $3) ORDER BY c.next_attempt_at LIMIT $4)
     UPDATE webhook_deliveries d SET lease_until = now() + $5 * interval '1 millisecond'
       FROM due, webhook_endpoints e
      WHERE d.id = due.id AND e.id = d.endpoint_id AND d.status = 'pending' AND (d.lease_until IS NULL OR d.lease_until < now())
     RETURNING d.id AS delivery_id, d.event_id, d.event_type, d.attempts,
               coalesce(d.body, (SELECT b.body FROM webhook_bodies b WHERE b.event_id = d.event_id)) AS body,
               e.id, e.tenant_id, e.url, e.events, e.secret, e.headers, e.throttle_s`,
    [[...rooms.keys()], [...rooms.values()], defaultRoom, limit, leaseMs],
  );
  return rows.map((row) => ({
    id: row.delivery_id, endpoint: endpointFromRow(row), eventId: row.event_id, eventType: row.event_type, body: row.body, attempts: row.attempts,
  }));
}

/** Logs attempts and applies their verdicts, all in one transaction; the leases end. */
async function recordAttempts(db: pg.Pool, records: readonly AttemptRecord[]): Promise<void> {
  if (records.length === 0) return;
  const column = <T>(pick: (r: AttemptRecord) => T): T[] => records.map(pick);
  await inTransaction(db, async (client) => {
    await client.query(
      // Joined with the deliveries: an endpoint deleted meanwhile took its deliveries with it.
      `INSERT INTO webhook_attempts (delivery_id, attempt, started_at, status_code, latency_ms, error, response_body)
       SELECT a.* FROM unnest($1::text[], $2::int[], $3::timestamptz[], $4::int[], $5::int[], $6::text[], $7::text[])
                AS a (delivery_id, attempt, started_at, status_code, latency_ms, error, response_body)
         JOIN webhook_deliveries d ON d.id = a.delivery_id
       ON CONFLICT DO NOTHING`,
      [column((r) => r.deliveryId), column((r) => r.attempt), column((r) => r.outcome.startedAt.toISOString()),
        column((r) => r.outcome.statusCode), column((r) => r.outcome.latencyMs), column((r) => r.outcome.error), column((r) => r.outcome.responseBody)],
    );
    await client.query(
      `UPDATE webhook_deliveries d
          SET attempts = v.attempt, status = v.status, lease_until = NULL,
              next_attempt_at = coalesce(v.next_attempt_at, d.next_attempt_at),
              completed_at = CASE WHEN v.status = 'pending' THEN NULL ELSE now() END
         FROM unnest($1::text[], $2::int[], $3::text[], $4::timestamptz[]) AS v (id, attempt, status, next_attempt_at)
        WHERE d.id = v.id`,
      [column((r) => r.deliveryId), column((r) => r.attempt), column((r) => r.verdict.status),
        column((r) => (r.verdict.status === 'pending' ? r.verdict.nextAttemptAt.toISOString() : null))],
    );
  });
}

/** Ends this worker's leases on deliveries it holds but will not send (at shutdown). */
async function releaseLeases(db: pg.Pool, deliveryIds: readonly string[]): Promise<void> {
  if (deliveryIds.length > 0) await db.query('UPDATE webhook_deliveries SET lease_until = NULL WHERE id = ANY($1::text[]) AND status = \'pending\'', [deliveryIds]);
}
