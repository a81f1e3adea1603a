import type pg from 'pg';
import { countedRows } from './list-rows.js';
import { replayUsage, withinEndpointQuota } from './tenant-usage.js';
import type { EndpointRow, WebhookEndpoints } from '../core/store-ports.js';

const ENDPOINT_COLUMNS = `id, url, events, headers, enabled, description,
  CASE WHEN throttle_s IS NULL THEN NULL ELSE json_build_object('seconds', throttle_s) END AS throttle, created_at, updated_at`;
/** A delivery with every attempt, oldest first. */
const DELIVERY_COLUMNS = `d.id, d.event_id, d.event_type, d.status, d.next_attempt_at, d.replay_of, d.created_at, d.completed_at,
  coalesce((SELECT json_agg(json_build_object('attempt', a.attempt, 'started_at', a.started_at, 'status_code', a.status_code,
                   'latency_ms', a.latency_ms, 'error', a.error, 'response_body', a.response_body) ORDER BY a.attempt)
              FROM webhook_attempts a WHERE a.delivery_id = d.id), '[]') AS attempts`;

export function webhookEndpoints(db: pg.Pool): WebhookEndpoints {
  return {
    async create(tenantId, e, limit) {
      const created = await withinEndpointQuota(db, tenantId, limit, (client) => client.query<EndpointRow>(
        `INSERT INTO webhook_endpoints (id, tenant_id, url, events, secret, headers, enabled, description, throttle_s)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING ${ENDPOINT_COLUMNS}`,
        [e.id, tenantId, e.url, e.events, e.secret, JSON.stringify(e.headers), e.enabled, e.description, e.throttleS],
      ));
      return created === null ? null : created.rows[0] as EndpointRow;
    },
    async find(tenantId, id) {
      const result = await db.query<EndpointRow>(`SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE tenant_id = $1 AND id = $2`, [tenantId, id]);
      return result.rows[0] ?? null;
    },
    list: (tenantId, page) => countedRows<EndpointRow>(db, { select: ENDPOINT_COLUMNS, from: 'webhook_endpoints', where: 'tenant_id = $1', orderBy: 'created_at, id' }, [tenantId], page),
    async update(tenantId, id, change) {
      await db.query(
        `UPDATE webhook_endpoints SET url = coalesce($3, url), events = coalesce($4, events), secret = coalesce($5, secret),
                headers = coalesce($6, headers), enabled = coalesce($7, enabled),
                description = CASE WHEN $8 THEN $9 ELSE description END,
                throttle_s = CASE WHEN $10 THEN $11 ELSE throttle_s END, updated_at = now()
          WHERE tenant_id = $1 AND id = $2`,
        [tenantId, id, change.url ?? null, change.events ?? null, change.secret ?? null,
          change.headers === undefined ? null : JSON.stringify(change.headers), change.enabled ?? null, 'description' in change, change.description ?? null,
          change.throttleS !== undefined, change.throttleS ?? null],
      );
    },
    async remove(tenantId, id) {
      const result = await db.query('DELETE FROM webhook_endpoints WHERE tenant_id = $1 AND id = $2', [tenantId, id]);
      return result.rowCount === 1;
    },
    deliveries(tenantId, endpointId, status, page) {
      const where = 'd.tenant_id = $1 AND d.endpoint_id = $2 AND ($3::text IS NULL OR d.status = $3)';
      return countedRows(db, { select: DELIVERY_COLUMNS, from: 'webhook_deliveries d', where, orderBy: 'd.created_at DESC, d.id' }, [tenantId, endpointId, status], page);
    },
    async queue(d) {
      await db.query(
        `INSERT INTO webhook_deliveries (id, endpoint_id, tenant_id, event_id, event_type, body, replay_of)
         VALUES ($1, $2, $3, $4, $5, $6, NULL)`,
        [d.id, d.endpointId, d.tenantId, d.eventId, d.eventType, d.body],
      );
    },
    async replay(tenantId, deliveryId, newId) {
      const result = await db.query(
        // A replay of a replay is a replay of the first delivery: one quota for them all.
        `INSERT INTO webhook_deliveries (id, endpoint_id, tenant_id, event_id, event_type, body, replay_of)
         SELECT $3, endpoint_id, tenant_id, event_id, event_type, body, coalesce(replay_of, id) FROM webhook_deliveries WHERE tenant_id = $1 AND id = $2`,
        [tenantId, deliveryId, newId],
      );
      return result.rowCount === 1;
    },
    replays: (deliveryId, windowS) => replayUsage(db, deliveryId, windowS),
  };
}
