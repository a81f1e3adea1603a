import type { FastifyInstance } from 'fastify';
import type pg from 'pg';
import { ApiError } from '../api-error.js';
import { pageResponse, parsePage } from '../pagination.js';

const COLUMNS = `device_id AS id, first_seen_at, last_received_at,
  json_build_object('ts', last_ts, 'lat', lat, 'lon', lon, 'speed', speed, 'heading', heading, 'ignition', ignition) AS last_position`;

/** `GET /v1/devices` and `GET /v1/devices/{id}`: the tenant's devices with their latest position. */
export function deviceRoutes(app: FastifyInstance, db: pg.Pool): void {
  app.get('/v1/devices', async (request) => {
    const page = parsePage(request.query as Record<string, unknown>);
    const [count, rows] = await Promise.all([
      db.query<{ n: string }>('SELECT count(*) AS n FROM devices WHERE tenant_id = $1', [request.tenantId]),
      db.query(`SELECT ${COLUMNS} FROM devices WHERE tenant_id = $1 ORDER BY device_id LIMIT ${page.limit} OFFSET ${page.offset}`, [request.tenantId]),
    ]);
    return pageResponse(request.url, page, Number(count.rows[0]?.n), rows.rows);
  });

  app.get('/v1/devices/:id', async (request) => {
    const { id } = request.params as { id: string };
    const result = await db.query(`SELECT ${COLUMNS} FROM devices WHERE tenant_id = $1 AND device_id = $2`, [request.tenantId, id]);
    if (result.rowCount === 0) throw new ApiError('not_found', `no device "${id}" in this tenant`);
    return result.rows[0];
  });
}
