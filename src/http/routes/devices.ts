import type { FastifyInstance } from 'fastify';
import type pg from 'pg';
import type { ApiBus } from '../../bus/api-bus.js';
import { TOKEN } from '../../core/token.js';
import { ApiError } from '../api-error.js';
import { listPage, parsePage, timeParameter } from '../pagination.js';
import { answer, answers } from '../answers.js';
import { idParams, pageQuery, timeRange } from '../schemas.js';

const tags = ['devices'];

/** The integration view of vehicles lists those seen lately, not every device the tenant ever had. */
const DEFAULT_ACTIVE_S = 86_400;
const MAX_ACTIVE_S = 30 * 86_400;
/** A bound on one answer of a list without pages (GET /v1/devices pages through all of them). */
const MAX_VEHICLES = 1000;

const COLUMNS = `device_id AS id, first_seen_at, last_received_at,
  json_build_object('ts', last_ts, 'lat', lat, 'lon', lon, 'speed', speed, 'heading', heading, 'ignition', ignition) AS last_position`;

const POSITION_COLUMNS = `ts, lat, lon, speed, heading, altitude, accuracy, satellites, ignition, odometer, attributes, received_at`;

async function latest(db: pg.Pool, tenantId: string, id: string): Promise<unknown> {
  const result = await db.query(`SELECT ${COLUMNS} FROM devices WHERE tenant_id = $1 AND device_id = $2`, [tenantId, id]);
  if (result.rowCount === 0) throw new ApiError('not_found', `no device "${id}" in this tenant`);
  return result.rows[0];
}

/**
 * `GET /v1/devices`, `/v1/devices/{id}`, `/v1/devices/{id}/positions?from=&to=`, and the
 * integration views `/api/integration/vehicles` and `/api/integration/vehicle-location`.
 */
export function deviceRoutes(app: FastifyInstance, db: pg.Pool, bus: ApiBus): void {
  app.get('/v1/devices', { schema: { tags, summary: 'Devices with their latest position', querystring: pageQuery(), response: answers({ 200: answer.list(answer.device) }) } }, async (request) => {
    const page = parsePage(request.query as Record<string, unknown>);
    return listPage(db, request.url, page, { select: COLUMNS, from: 'devices', where: 'tenant_id = $1', orderBy: 'device_id' }, [request.tenantId]);
  });

  app.get('/v1/devices/:id', { schema: { tags, summary: 'One device', params: idParams, response: answers({ 200: answer.device }, { id: true }) } }, async (request) => latest(db, request.tenantId, (request.params as { id: string }).id));

  app.put('/v1/devices/:id/driver', {
    schema: {
      tags, summary: 'A dispatcher assigns a driver (or null: removes the driver); driver.assigned or driver.unassigned follows',
      params: idParams,
      body: {
        type: 'object', required: ['driver_id'], additionalProperties: false,
        properties: { driver_id: { anyOf: [{ type: 'string', pattern: TOKEN.source }, { type: 'null' }] } },
      },
      response: answers({ 202: answer.object({ device_id: answer.text, driver_id: answer.nullableText }) }, { body: true, id: true, errors: [503] }),
    },
  }, async (request, reply) => {
    const { id } = request.params as { id: string };
    const driverId = (request.body as { driver_id: string | null }).driver_id;
    await latest(db, request.tenantId, id);
    await bus.assignDriver(request.tenantId, id, driverId).catch((err: Error) => {
      throw new ApiError('unavailable', `the assignment could not be put on the bus (${err.message}); nothing changed, send it again`);
    });
    // Accepted: the device's partition owner applies it in order with the device's reports.
    return reply.code(202).send({ device_id: id, driver_id: driverId });
  });

  app.get('/v1/devices/:id/positions', {
    schema: { tags, summary: 'Position history, oldest first', params: idParams, querystring: pageQuery(timeRange), response: answers({ 200: answer.list(answer.position) }, { id: true }) },
  }, async (request) => {
    const { id } = request.params as { id: string };
    const query = request.query as Record<string, unknown>;
    const page = parsePage(query);
    await latest(db, request.tenantId, id);
    const params = [request.tenantId, id, timeParameter(query, 'from'), timeParameter(query, 'to')];
    const where = `tenant_id = $1 AND device_id = $2 AND ($3::timestamptz IS NULL OR ts >= $3) AND ($4::timestamptz IS NULL OR ts < $4)`;
    return listPage(db, request.url, page, { select: POSITION_COLUMNS, from: 'positions', where, orderBy: 'ts' }, params);
  });

  app.get('/api/integration/vehicles', {
    schema: {
      tags, summary: `Active devices (a fix within active_within_s, 24 h by default) with latest position and status, the ${MAX_VEHICLES} most recently seen at most`,
      querystring: {
        type: 'object', additionalProperties: false,
        properties: { active_within_s: { type: 'string', pattern: '^[0-9]{1,7}$', description: 'seconds, 1 to 2592000 (30 days); default 86400' } },
      },
      response: answers({ 200: answer.object({ count: { type: 'integer' }, results: { type: 'array', items: answer.device } }) }),
    },
  }, async (request) => {
    const raw = (request.query as { active_within_s?: string }).active_within_s;
    const withinS = raw === undefined ? DEFAULT_ACTIVE_S : Number(raw);
    if (withinS < 1 || withinS > MAX_ACTIVE_S) throw new ApiError('invalid_request', `active_within_s must be between 1 and ${MAX_ACTIVE_S} seconds, got ${raw}`);
    const rows = await db.query(
      `SELECT ${COLUMNS} FROM devices WHERE tenant_id = $1 AND last_ts > now() - make_interval(secs => $2) ORDER BY last_ts DESC, device_id LIMIT ${MAX_VEHICLES}`,
      [request.tenantId, withinS],
    );
    return { count: rows.rowCount, results: rows.rows };
  });

  app.get('/api/integration/vehicle-location', {
    schema: {
      tags, summary: 'Latest position of one device',
      querystring: { type: 'object', required: ['vehicle_id'], additionalProperties: false, properties: { vehicle_id: { type: 'string', minLength: 1, maxLength: 200 } } },
      response: answers({ 200: answer.device }, { id: true }),
    },
  }, async (request) => {
    const id = (request.query as Record<string, unknown>).vehicle_id;
    if (typeof id !== 'string' || id === '') throw new ApiError('invalid_request', 'vehicle_id is required');
    return latest(db, request.tenantId, id);
  });
}
