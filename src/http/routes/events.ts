import type { FastifyInstance } from 'fastify';
import type pg from 'pg';
import { listPage, parsePage, timeParameter } from '../pagination.js';
import { answer, answers } from '../answers.js';
import { pageQuery, timeRange } from '../schemas.js';

/** `GET /v1/events?type=&device_id=&from=&to=`: the tenant's derived events, oldest first. */
export function eventRoutes(app: FastifyInstance, db: pg.Pool): void {
  app.get('/v1/events', {
    schema: {
      tags: ['events'], summary: 'Derived events, oldest first, for reconciliation',
      querystring: pageQuery({ type: { type: 'string', maxLength: 100 }, device_id: { type: 'string', maxLength: 200 }, ...timeRange }),
      response: answers({ 200: answer.list(answer.event) }),
    },
  }, async (request) => {
    const query = request.query as Record<string, unknown>;
    const page = parsePage(query);
    const type = typeof query.type === 'string' ? query.type : null;
    const deviceId = typeof query.device_id === 'string' ? query.device_id : null;
    const params = [request.tenantId, type, deviceId, timeParameter(query, 'from'), timeParameter(query, 'to')];
    const where = `tenant_id = $1 AND ($2::text IS NULL OR type = $2) AND ($3::text IS NULL OR device_id = $3)
                   AND ($4::timestamptz IS NULL OR occurred_at >= $4) AND ($5::timestamptz IS NULL OR occurred_at < $5)`;
    return listPage(db, request.url, page, { select: 'id, type, tenant_id, device_id, occurred_at, data', from: 'events', where, orderBy: 'occurred_at, seq' }, params);
  });
}
