import type { FastifyInstance } from 'fastify';
import type pg from 'pg';
import type { Config } from '../../config.js';
import { inboundUsage } from '../../store/tenant-usage.js';
import { ApiError } from '../api-error.js';
import { listPage, parsePage } from '../pagination.js';
import { pageQuery } from '../schemas.js';

/**
 * `POST /api/integration/webhook`: an event from another product, kept in the audit log, and
 * `GET /v1/inbound-events` to read that log back, newest first.
 */
export function inboundRoutes(app: FastifyInstance, db: pg.Pool, quotas: Config['quotas']): void {
  app.post('/api/integration/webhook', { schema: { tags: ['integration'], summary: 'An event from another product, kept in the audit log', body: { type: 'object' } } }, async (request, reply) => {
    const body = request.body;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new ApiError('invalid_request', 'the body must be a JSON object');
    }
    const usage = await inboundUsage(db, request.tenantId, 60);
    if (usage.count >= quotas.inboundEventsPerMinute) {
      throw new ApiError('rate_limited', `this tenant posted ${usage.count} inbound events in the last minute, its limit (TENANT_INBOUND_EVENTS_PER_MINUTE is ${quotas.inboundEventsPerMinute}); retry after ${usage.retryAfterS} s`, usage.retryAfterS);
    }
    const result = await db.query<{ id: string; received_at: Date }>(
      'INSERT INTO inbound_events (tenant_id, body) VALUES ($1, $2) RETURNING id, received_at', [request.tenantId, JSON.stringify(body)],
    );
    const row = result.rows[0] as { id: string; received_at: Date };
    return reply.code(202).send({ id: Number(row.id), received_at: row.received_at });
  });

  app.get('/v1/inbound-events', { schema: { tags: ['integration'], summary: 'The audit log of inbound events, newest first', querystring: pageQuery() } }, async (request) => {
    const page = parsePage(request.query as Record<string, unknown>);
    return listPage(db, request.url, page, { select: 'id::int AS id, received_at, body', from: 'inbound_events', where: 'tenant_id = $1', orderBy: 'id DESC' }, [request.tenantId]);
  });
}
