import type { FastifyInstance } from 'fastify';
import { API_ERROR_STATUS } from './api-error.js';

/**
 * JSON schemas of the API's answers. They are registered as shared schemas (the OpenAPI
 * document's components) and are the routes' response schemas, so fastify serialises every
 * answer through the schema the document shows: the document cannot drift from what is sent.
 * Objects that carry other products' data (event data, attributes, GeoJSON properties, inbound
 * bodies) are open; ours list their fields.
 */
type Schema = Record<string, unknown>;

const text = { type: 'string' };
const nullableText = { type: ['string', 'null'] };
const time = { type: 'string', format: 'date-time' };
const nullableTime = { type: ['string', 'null'], format: 'date-time' };
const nullableNumber = { type: ['number', 'null'] };
const open = { type: 'object', additionalProperties: true };

const object = (properties: Record<string, Schema>, required: string[] = Object.keys(properties)): Schema =>
  ({ type: 'object', additionalProperties: false, required, properties });

const ref = (id: string): Schema => ({ $ref: `${id}#` });

/** The shared schemas, by $id: the names under components.schemas. */
const SHARED: Record<string, Schema> = {
  Error: object({
    error: object({ code: { type: 'string', enum: Object.keys(API_ERROR_STATUS) }, message: text }),
  }),
  LatestPosition: object({ ts: nullableTime, lat: nullableNumber, lon: nullableNumber, speed: nullableNumber, heading: nullableNumber, ignition: { type: ['boolean', 'null'] } }),
  Device: object({
    id: text, first_seen_at: time, last_received_at: nullableTime, last_position: ref('LatestPosition'),
    tags: { type: 'array', items: text, description: 'the device\'s tags (PUT /v1/devices/{id}/tags), sorted' },
    route_id: { ...nullableText, description: 'the device\'s route (PUT /v1/devices/{id}/route), null for none' },
  }),
  Position: object({
    ts: time, lat: { type: 'number' }, lon: { type: 'number' }, speed: nullableNumber, heading: nullableNumber, altitude: nullableNumber,
    accuracy: nullableNumber, satellites: { type: ['integer', 'null'] }, ignition: { type: ['boolean', 'null'] }, odometer: nullableNumber,
    attributes: { type: ['object', 'null'], additionalProperties: true }, received_at: time,
  }),
  Event: object({
    id: text, type: text, tenant_id: text, device_id: nullableText, occurred_at: time,
    late: { type: 'boolean', description: 'present and true for an event a late fix\'s correction derived' },
    data: open,
    retracted_by: { ...nullableText, description: 'with include_retracted=true: the event.retracted that withdrew it, else null' },
  }, ['id', 'type', 'tenant_id', 'device_id', 'occurred_at', 'data']),
  Geofence: {
    type: 'object', required: ['type', 'geometry', 'properties'], additionalProperties: true,
    description: 'A GeoJSON Feature as stored (contract section 4); properties.id is the geofence id',
    properties: {
      type: { const: 'Feature' }, id: { type: ['string', 'number'] }, bbox: { type: 'array', items: { type: 'number' } },
      geometry: { type: 'object', required: ['type', 'coordinates'], additionalProperties: true, properties: { type: text, coordinates: { type: 'array' } } },
      properties: open,
    },
  },
  WebhookEndpoint: object({
    id: text, url: text, events: { type: 'array', items: text }, headers: { type: 'object', additionalProperties: text },
    enabled: { type: 'boolean' }, description: nullableText, created_at: time, updated_at: time,
    throttle: { anyOf: [object({ seconds: { type: 'integer' } }), { type: 'null' }] },
    secret: { ...text, description: 'only in the creation answer, and only when generated' },
  }, ['id', 'url', 'events', 'headers', 'enabled', 'description', 'throttle', 'created_at', 'updated_at']),
  Delivery: object({
    id: text, event_id: text, event_type: text, status: { type: 'string', enum: ['pending', 'succeeded', 'failed', 'throttled'] },
    next_attempt_at: nullableTime, replay_of: nullableText, created_at: time, completed_at: nullableTime,
    attempts: {
      type: 'array',
      items: object({
        attempt: { type: 'integer' }, started_at: time, status_code: { type: ['integer', 'null'] }, latency_ms: nullableNumber,
        error: nullableText, response_body: nullableText,
      }),
    },
  }),
  InboundEvent: object({ id: { type: 'integer' }, received_at: time, body: open }),
  Visit: object({
    device_id: text, geofence_id: text, geofence_name: nullableText, entered_at: time,
    left_at: { ...nullableTime, description: 'null while the device is inside and the range has not ended' },
    dwell_seconds: { type: 'number', description: 'time inside within the range (until now for an open visit)' },
  }),
  Track: {
    type: 'object', additionalProperties: false, required: ['type', 'geometry', 'properties'],
    description: 'A GeoJSON Feature: the track as a LineString of [lon, lat], oldest first (geometry null under two fixes)',
    properties: {
      type: { const: 'Feature' },
      geometry: {
        anyOf: [
          { type: 'null' },
          object({ type: { const: 'LineString' }, coordinates: { type: 'array', items: { type: 'array', items: { type: 'number' } } } }),
        ],
      },
      properties: object({
        device_id: text, from: nullableTime, to: nullableTime, positions: { type: 'integer', description: 'fixes in the range' },
        points: { type: 'integer', description: 'points in the line' }, simplify_m: { type: ['number', 'null'] },
      }),
    },
  },
  // One schema for both listings of GET /v1/devices: an anyOf would have fastify validate every
  // answer against each branch before serialising it.
  ListedDevice: {
    ...object({
      id: text, last_position: ref('LatestPosition'), tags: { type: 'array', items: text },
      first_seen_at: { ...time, description: 'in the plain listing' }, last_received_at: { ...nullableTime, description: 'in the plain listing' },
      route_id: { ...nullableText, description: 'in the plain listing: the device\'s route, null for none' },
      distance_m: { type: 'number', description: 'with near and nearest: geodesic metres (WGS84) from the point asked about' },
    }, ['id', 'last_position', 'tags']),
    description: 'a device in GET /v1/devices: with first_seen_at and last_received_at when listed from the table, with distance_m for near and nearest',
  },
  BacktestEvent: object({ id: text, type: text, device_id: nullableText, occurred_at: time, data: open }),
  Backtest: object({
    geofence_id: text, from: time, to: time, positions: { type: 'integer', description: 'stored positions in the range (of device_ids when given)' },
    events: { type: 'array', items: ref('BacktestEvent'), description: 'by device, then time: enter, leave, dwell and crossed as the live path derives them' },
    summary: { ...object({ fixes: { type: 'integer' }, devices: { type: 'integer' }, events: { type: 'integer' } }), description: 'present when the backtest finished' },
    error: { ...ref('Error'), description: 'in place of summary when the backtest failed after its answer began' },
  }, ['geofence_id', 'from', 'to', 'positions', 'events']),
  Occupant: object({
    device_id: text, entered_at: time, dwell_seconds: { type: 'number', description: 'seconds since entered_at, now' }, last_position: ref('LatestPosition'),
  }),
  ZoneTime: object({
    device_id: text, geofence_id: text, geofence_name: nullableText, visits: { type: 'integer' }, seconds_inside: { type: 'number' },
  }, ['visits', 'seconds_inside']),
};

/** Registers the shared schemas on the instance whose routes refer to them. */
export function addAnswerSchemas(app: FastifyInstance): void {
  for (const [id, schema] of Object.entries(SHARED)) app.addSchema({ $id: id, ...schema });
}

export const answer = {
  device: ref('Device'),
  position: ref('Position'),
  event: ref('Event'),
  geofence: ref('Geofence'),
  endpoint: ref('WebhookEndpoint'),
  delivery: ref('Delivery'),
  inboundEvent: ref('InboundEvent'),
  visit: ref('Visit'),
  track: ref('Track'),
  zoneTime: ref('ZoneTime'),
  listedDevice: ref('ListedDevice'),
  occupant: ref('Occupant'),
  backtest: ref('Backtest'),
  /** The list answer of contract section 6. */
  list: (item: Schema): Schema => object({ count: { type: 'integer' }, next: nullableText, previous: nullableText, results: { type: 'array', items: item } }),
  /** 204: no body. */
  deleted: { description: 'Deleted', type: 'null' },
  object,
  text,
  time,
  nullableText,
} as const;

const SUCCESS_DESCRIPTIONS: Record<number, string> = { 200: 'OK', 201: 'Created', 202: 'Accepted: it follows on the bus', 204: 'Done, no body', 503: 'Unavailable' };

/** What each error status means, for the document. */
const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: 'The request is malformed: the message names the field',
  401: 'No integration key, or an unknown one',
  403: 'A tenant quota would be exceeded',
  404: 'No such resource in this tenant',
  409: 'It exists already',
  413: 'The body is larger than the route accepts',
  415: 'The body is not application/json',
  429: 'Rate limited: see Retry-After',
  503: 'NATS or the database is unavailable: send it again',
};

/** Statuses every keyed route can answer with, and those of a route with a body. */
const KEYED = [400, 401];
const WITH_BODY = [413, 415];

export interface AnswerOptions {
  /** The route takes a JSON body. */
  readonly body?: boolean;
  /** The route names a resource by id (404). */
  readonly id?: boolean;
  /** Further error statuses the route can answer with. */
  readonly errors?: readonly number[];
  /** No key needed (no 401, no 400 from parameters). */
  readonly public?: boolean;
}

/**
 * A route's `response` schema: its success answers, and every error status it can give pointing
 * at the shared Error schema.
 */
export function answers(success: Record<number, Schema & { description?: string }>, options: AnswerOptions = {}): Record<number, Schema> {
  const statuses = [
    ...(options.public ? [] : KEYED), ...(options.body ? WITH_BODY : []), ...(options.id ? [404] : []), ...(options.errors ?? []),
  ];
  const errors = Object.fromEntries([...new Set(statuses)].sort().map((status) => [status, { description: ERROR_DESCRIPTIONS[status], ...ref('Error') }]));
  const described = Object.fromEntries(Object.entries(success).map(([status, schema]) => [status, { description: SUCCESS_DESCRIPTIONS[Number(status)], ...schema }]));
  return { ...described, ...errors };
}
