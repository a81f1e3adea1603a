import type { FastifyInstance } from 'fastify';
import type { ApiBus } from '../../bus/api-bus.js';
import { CorridorShape } from '../../core/geometry/corridor.js';
import { simplifyTrack } from '../../core/geometry/track.js';
import { TOKEN } from '../../core/token.js';
import { MAX_DEVICE_TAGS } from '../../decode/message.js';
import { ApiError } from '../api-error.js';
import { listAnswer, MAX_LIMIT, parsePage, timeParameter } from '../pagination.js';
import type { LiveDevices } from '../live-devices.js';
import { DEFAULT_NEAREST, isLiveQuery, MAX_RADIUS_M, pageOf, parseLiveQuery, runLiveQuery } from '../live-query.js';
import { answer, answers } from '../answers.js';
import { idParams, pageQuery, timeRange } from '../schemas.js';
import type { DeviceReads } from '../../core/store-ports.js';

const tags = ['devices'];

/** The integration view of vehicles lists those seen lately, not every device the tenant ever had. */
const DEFAULT_ACTIVE_S = 86_400;
const MAX_ACTIVE_S = 30 * 86_400;
/** A bound on one answer of a list without pages (GET /v1/devices pages through all of them). */
const MAX_VEHICLES = 1000;
/** The most fixes one track (format=geojson) draws: past it, a 400 asks for a narrower range. */
const MAX_TRACK_FIXES = 100_000;
const MAX_SIMPLIFY_M = 100_000;

/** `simplify_m` as metres, null when absent; a 400 naming it when it is not a number in (0, MAX_SIMPLIFY_M]. */
function simplifyTolerance(raw: unknown): number | null {
  if (raw === undefined) return null;
  const metres = typeof raw === 'string' && /^\d+(\.\d+)?$/.test(raw) ? Number(raw) : Number.NaN;
  if (!(metres > 0 && metres <= MAX_SIMPLIFY_M)) throw new ApiError('invalid_request', `simplify_m must be a number of metres above 0 and at most ${MAX_SIMPLIFY_M}, got ${JSON.stringify(raw).slice(0, 40)}`);
  return metres;
}

/** PUT /v1/devices/{id}/<what>: a body of one id or null, answered 202 with the device's id beside it. */
function assignmentSchema(summary: string, field: string) {
  return {
    tags, summary,
    params: idParams,
    body: {
      type: 'object', required: [field], additionalProperties: false,
      properties: { [field]: { anyOf: [{ type: 'string', pattern: TOKEN.source }, { type: 'null' }] } },
    },
    response: answers({ 202: answer.object({ device_id: answer.text, [field]: answer.nullableText }) }, { body: true, id: true, errors: [503] }),
  };
}

/**
 * A dispatcher's command for a known device, put on the bus (the device's partition owner
 * applies it in stream order with its reports); a 503 when the bus does not take it.
 */
async function sendCommand(devices: DeviceReads, tenantId: string, id: string, what: string, send: () => Promise<void>): Promise<void> {
  await latest(devices, tenantId, id);
  await send().catch((err: Error) => {
    throw new ApiError('unavailable', `${what} could not be put on the bus (${err.message}); nothing changed, send it again`);
  });
}

async function latest(devices: DeviceReads, tenantId: string, id: string): Promise<unknown> {
  const device = await devices.latest(tenantId, id);
  if (device === null) throw new ApiError('not_found', `no device "${id}" in this tenant`);
  return device;
}

/**
 * `GET /v1/devices`, `/v1/devices/{id}`, `/v1/devices/{id}/positions?from=&to=`, and the
 * integration views `/api/integration/vehicles` and `/api/integration/vehicle-location`.
 */
export function deviceRoutes(app: FastifyInstance, devices: DeviceReads, bus: ApiBus, live: LiveDevices): void {
  app.get('/v1/devices', {
    schema: {
      tags,
      summary: 'Devices with their latest position; with near, nearest, bbox, within or seen_since, answered from the live index (nearest first for near and nearest, else by id)',
      querystring: pageQuery({
        near: { type: 'string', maxLength: 60, description: 'LAT,LON: the devices within radius_m of it, nearest first, each with distance_m (geodesic)' },
        radius_m: { type: 'string', maxLength: 20, description: `with near: metres, above 0 and at most ${MAX_RADIUS_M}` },
        nearest: { type: 'string', maxLength: 60, description: `LAT,LON: the limit (default ${DEFAULT_NEAREST}) nearest devices, however far, each with distance_m` },
        bbox: { type: 'string', maxLength: 120, description: 'MINLON,MINLAT,MAXLON,MAXLAT: the devices in the box (MINLON > MAXLON crosses the antimeridian)' },
        within: { type: 'string', maxLength: 200, description: 'a geofence id: the devices its exact shape covers' },
        seen_since: { ...timeRange.from, description: 'RFC 3339: only devices whose latest fix is at or after it; combines with the others' },
        tag: { type: 'string', maxLength: 64, description: 'only devices with this tag; combines with the others' },
      }),
      response: answers({ 200: answer.list(answer.listedDevice) }, { id: true }),
    },
  }, async (request) => {
    const query = request.query as Record<string, unknown>;
    if (!isLiveQuery(query)) {
      const page = parsePage(query);
      return listAnswer(request.url, page, await devices.list(request.tenantId, page));
    }
    const liveQuery = parseLiveQuery(query, MAX_LIMIT);
    const { selection } = liveQuery;
    const page = selection.kind === 'nearest' ? { limit: selection.k, offset: 0 } : parsePage(query);
    const shape = selection.kind === 'within' ? await live.shape(request.tenantId, selection.geofenceId) : null;
    if (selection.kind === 'within' && shape === null) throw new ApiError('not_found', `no geofence "${selection.geofenceId}" in this tenant`);
    const index = await live.of(request.tenantId);
    return listAnswer(request.url, page, pageOf(runLiveQuery(index, liveQuery, shape), page));
  });

  app.get('/v1/devices/:id', { schema: { tags, summary: 'One device', params: idParams, response: answers({ 200: answer.device }, { id: true }) } }, async (request) => latest(devices, request.tenantId, (request.params as { id: string }).id));

  app.put('/v1/devices/:id/driver', {
    schema: assignmentSchema('A dispatcher assigns a driver (or null: removes the driver); driver.assigned or driver.unassigned follows', 'driver_id'),
  }, async (request, reply) => {
    const { id } = request.params as { id: string };
    const driverId = (request.body as { driver_id: string | null }).driver_id;
    await sendCommand(devices, request.tenantId, id, 'the assignment', () => bus.assignDriver(request.tenantId, id, driverId));
    // Accepted: the device's partition owner applies it in order with the device's reports.
    return reply.code(202).send({ device_id: id, driver_id: driverId });
  });

  app.put('/v1/devices/:id/tags', {
    schema: {
      tags, summary: 'Replace a device\'s tags; its partition owner applies them in stream order with its reports, and they show on the device within about a second',
      params: idParams,
      body: {
        type: 'object', required: ['tags'], additionalProperties: false,
        properties: { tags: { type: 'array', maxItems: MAX_DEVICE_TAGS, uniqueItems: true, items: { type: 'string', pattern: TOKEN.source } } },
      },
      response: answers({ 202: answer.object({ device_id: answer.text, tags: { type: 'array', items: answer.text } }) }, { body: true, id: true, errors: [503] }),
    },
  }, async (request, reply) => {
    const { id } = request.params as { id: string };
    const tagList = [...(request.body as { tags: string[] }).tags].sort();
    await sendCommand(devices, request.tenantId, id, 'the tags', () => bus.setTags(request.tenantId, id, tagList));
    return reply.code(202).send({ device_id: id, tags: tagList });
  });

  app.put('/v1/devices/:id/route', {
    schema: assignmentSchema('Assign a route (a corridor geofence\'s id), or null to remove it; route.deviated and route.rejoined follow the device\'s fixes against it', 'route_id'),
  }, async (request, reply) => {
    const { id } = request.params as { id: string };
    const routeId = (request.body as { route_id: string | null }).route_id;
    if (routeId !== null) {
      const shape = await live.shape(request.tenantId, routeId);
      if (shape === null) throw new ApiError('not_found', `no geofence "${routeId}" in this tenant`);
      if (!(shape instanceof CorridorShape)) throw new ApiError('invalid_request', `geofence "${routeId}" is not a corridor: a route is a LineString or MultiLineString geofence with width_m`);
    }
    await sendCommand(devices, request.tenantId, id, 'the route', () => bus.assignRoute(request.tenantId, id, routeId));
    return reply.code(202).send({ device_id: id, route_id: routeId });
  });

  app.get('/v1/devices/:id/positions', {
    schema: {
      tags, summary: 'Position history, oldest first; with format=geojson the track as one LineString Feature, simplified to simplify_m metres',
      params: idParams,
      querystring: pageQuery({
        ...timeRange,
        format: { type: 'string', enum: ['json', 'geojson'], description: `geojson: the whole range as one LineString Feature (at most ${MAX_TRACK_FIXES} fixes), not paged` },
        simplify_m: { type: 'string', maxLength: 20, description: `with format=geojson: Douglas-Peucker tolerance in metres, above 0 and at most ${MAX_SIMPLIFY_M}` },
      }),
      response: answers({ 200: { anyOf: [answer.list(answer.position), answer.track] } }, { id: true }),
    },
  }, async (request) => {
    const { id } = request.params as { id: string };
    const query = request.query as Record<string, unknown>;
    const page = parsePage(query);
    await latest(devices, request.tenantId, id);
    const range = { from: timeParameter(query, 'from'), to: timeParameter(query, 'to') };
    const simplifyM = simplifyTolerance(query.simplify_m);
    if (query.format !== 'geojson') {
      if (simplifyM !== null) throw new ApiError('invalid_request', 'simplify_m draws a track: use it with format=geojson');
      return listAnswer(request.url, page, await devices.positions(request.tenantId, id, range, page));
    }
    const fixes = await devices.track(request.tenantId, id, range, MAX_TRACK_FIXES);
    if (fixes.length > MAX_TRACK_FIXES) {
      throw new ApiError('invalid_request', `the range holds more than ${MAX_TRACK_FIXES} fixes of ${id}, the most a track draws: narrow from and to`);
    }
    const drawn = simplifyM === null ? fixes : simplifyTrack(fixes, simplifyM).map((i) => fixes[i] as (typeof fixes)[number]);
    const coordinates = drawn.map((fix) => [fix.lon, fix.lat]);
    return {
      type: 'Feature',
      geometry: coordinates.length < 2 ? null : { type: 'LineString', coordinates },
      properties: { device_id: id, from: range.from, to: range.to, positions: fixes.length, points: coordinates.length, simplify_m: simplifyM },
    };
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
    const results = await devices.active(request.tenantId, withinS, MAX_VEHICLES);
    return { count: results.length, results };
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
    return latest(devices, request.tenantId, id);
  });
}
