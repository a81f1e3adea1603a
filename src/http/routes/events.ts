import type { FastifyInstance } from 'fastify';
import { listAnswer, parsePage, timeParameter } from '../pagination.js';
import { answer, answers } from '../answers.js';
import { pageQuery, timeRange } from '../schemas.js';
import type { EventLog } from '../../core/store-ports.js';

/**
 * `GET /v1/events?type=&device_id=&from=&to=&include_retracted=`: the tenant's derived events,
 * oldest first: the current truth (events a late fix retracted, and the retractions, left out),
 * or with `include_retracted=true` everything, each with `retracted_by`.
 */
export function eventRoutes(app: FastifyInstance, eventLog: EventLog): void {
  app.get('/v1/events', {
    schema: {
      tags: ['events'], summary: 'Derived events, oldest first, for reconciliation',
      querystring: pageQuery({
        type: { type: 'string', maxLength: 100 }, device_id: { type: 'string', maxLength: 200 }, ...timeRange,
        include_retracted: { type: 'string', enum: ['true', 'false'], description: 'true: also the events a late fix retracted, and the event.retracted events' },
      }),
      response: answers({ 200: answer.list(answer.event) }),
    },
  }, async (request) => {
    const query = request.query as Record<string, unknown>;
    const page = parsePage(query);
    const type = typeof query.type === 'string' ? query.type : null;
    const deviceId = typeof query.device_id === 'string' ? query.device_id : null;
    const filter = { type, deviceId, from: timeParameter(query, 'from'), to: timeParameter(query, 'to'), includeRetracted: query.include_retracted === 'true' };
    return listAnswer(request.url, page, await eventLog.events(request.tenantId, filter, page));
  });
}
