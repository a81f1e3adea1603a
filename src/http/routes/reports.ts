import type { FastifyInstance } from 'fastify';
import type { VisitReports, ZoneTimeGrouping } from '../../core/store-ports.js';
import { ApiError } from '../api-error.js';
import { answer, answers } from '../answers.js';
import { listAnswer, parsePage, timeParameter } from '../pagination.js';
import { pageQuery, timeRange } from '../schemas.js';

/** The longest range a report covers. */
export const MAX_REPORT_DAYS = 92;
const DAY_MS = 86_400_000;

/** A report's range: both ends given, `from` before `to`, at most MAX_REPORT_DAYS apart. */
function reportRange(query: Record<string, unknown>): { from: string; to: string } {
  const from = timeParameter(query, 'from');
  const to = timeParameter(query, 'to');
  if (from === null || to === null) throw new ApiError('invalid_request', 'a report needs from and to, RFC 3339 date-times');
  const spanMs = Date.parse(to) - Date.parse(from);
  if (spanMs <= 0) throw new ApiError('invalid_request', `from (${from}) must be before to (${to})`);
  if (spanMs > MAX_REPORT_DAYS * DAY_MS) throw new ApiError('invalid_request', `from and to are ${(spanMs / DAY_MS).toFixed(1)} days apart; a report covers at most ${MAX_REPORT_DAYS}`);
  return { from, to };
}

const text = (maxLength: number) => ({ type: 'string', maxLength });

/**
 * `GET /v1/reports/visits` and `GET /v1/reports/time-in-zone`: who was where and for how long,
 * from the stored events as they stand (late fixes' corrections applied).
 */
export function reportRoutes(app: FastifyInstance, reports: VisitReports): void {
  app.get('/v1/reports/visits', {
    schema: {
      tags: ['reports'], summary: 'Each visit to a geofence within a range, cut to it, oldest first',
      querystring: pageQuery({ geofence_id: text(200), device_id: text(200), ...timeRange }),
      response: answers({ 200: answer.list(answer.visit) }),
    },
  }, async (request) => {
    const query = request.query as Record<string, unknown>;
    const page = parsePage(query);
    const filter = {
      ...reportRange(query),
      geofenceId: typeof query.geofence_id === 'string' ? query.geofence_id : null,
      deviceId: typeof query.device_id === 'string' ? query.device_id : null,
    };
    return listAnswer(request.url, page, await reports.visits(request.tenantId, filter, page));
  });

  app.get('/v1/reports/time-in-zone', {
    schema: {
      tags: ['reports'], summary: 'Visits and time inside geofences within a range, per device or per geofence',
      querystring: pageQuery({ ...timeRange, group_by: { type: 'string', enum: ['device', 'geofence'], description: 'device (the default) or geofence' } }),
      response: answers({ 200: answer.list(answer.zoneTime) }),
    },
  }, async (request) => {
    const query = request.query as Record<string, unknown>;
    const page = parsePage(query);
    const groupBy: ZoneTimeGrouping = query.group_by === 'geofence' ? 'geofence' : 'device';
    return listAnswer(request.url, page, await reports.timeInZone(request.tenantId, reportRange(query), groupBy, page));
  });
}
