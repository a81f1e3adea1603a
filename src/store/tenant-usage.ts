import type pg from 'pg';
import { inLockedTransaction } from './database.js';
import type { WindowUsage } from '../core/store-ports.js';

async function windowUsage(db: pg.Pool, sql: string, params: unknown[], windowS: number): Promise<WindowUsage> {
  const result = await db.query<{ n: number; oldest_age_s: number | null }>(sql, [...params, windowS]);
  const row = result.rows[0] ?? { n: 0, oldest_age_s: null };
  return { count: row.n, retryAfterS: Math.max(1, Math.ceil(windowS - (row.oldest_age_s ?? 0))) };
}

/** Inbound events the tenant posted in the last `windowS` seconds. */
export function inboundUsage(db: pg.Pool, tenantId: string, windowS: number): Promise<WindowUsage> {
  return windowUsage(db,
    `SELECT count(*)::int AS n, extract(epoch FROM now() - min(received_at))::float8 AS oldest_age_s
       FROM inbound_events WHERE tenant_id = $1 AND received_at > now() - make_interval(secs => $2)`, [tenantId], windowS);
}

/**
 * Replays of one delivery made in the last `windowS` seconds: of the first delivery it replays,
 * so that replaying the replays does not multiply the quota.
 */
export function replayUsage(db: pg.Pool, deliveryId: string, windowS: number): Promise<WindowUsage> {
  return windowUsage(db,
    `SELECT count(*)::int AS n, extract(epoch FROM now() - min(created_at))::float8 AS oldest_age_s
       FROM webhook_deliveries
      WHERE replay_of = (SELECT coalesce(replay_of, id) FROM webhook_deliveries WHERE id = $1) AND created_at > now() - make_interval(secs => $2)`, [deliveryId], windowS);
}

/** Bytes of inbound bodies the tenant posted in the last `windowS` seconds, as received. */
export function inboundBytesUsage(db: pg.Pool, tenantId: string, windowS: number): Promise<WindowUsage> {
  return windowUsage(db,
    `SELECT coalesce(sum(bytes), 0)::int AS n, extract(epoch FROM now() - min(received_at))::float8 AS oldest_age_s
       FROM inbound_events WHERE tenant_id = $1 AND received_at > now() - make_interval(secs => $2)`, [tenantId], windowS);
}

/**
 * Runs `create` only while the tenant has fewer than `limit` webhook endpoints, under a lock per
 * tenant so that processors creating at once cannot both pass the count. Null when full.
 */
export async function withinEndpointQuota<T>(db: pg.Pool, tenantId: string, limit: number, create: (client: pg.PoolClient) => Promise<T>): Promise<T | null> {
  return inLockedTransaction(db, `webhook-endpoints:${tenantId}`, async (client) => {
    const count = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM webhook_endpoints WHERE tenant_id = $1', [tenantId]);
    return (count.rows[0]?.n ?? 0) >= limit ? null : create(client);
  });
}
