/**
 * JSON schemas of the API's requests (fastify validates them; @fastify/swagger turns them into
 * the OpenAPI document at /docs/json). Every object refuses properties it does not know, so a
 * misspelt field is an error rather than silently ignored. Query values stay strings: the
 * route parses them, with messages that name the parameter.
 */
type Schema = Record<string, unknown>;

const WHOLE_NUMBER = { type: 'string', pattern: '^\\d+$' };
const DATE_TIME = { type: 'string', format: 'date-time' };

export const idParams: Schema = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', minLength: 1, maxLength: 200 } },
};

/** `limit` and `offset` (contract section 6) plus a route's own parameters. */
export function pageQuery(extra: Record<string, Schema> = {}): Schema {
  return {
    type: 'object',
    additionalProperties: false,
    properties: {
      limit: { ...WHOLE_NUMBER, description: 'page size, default 50, at most 100' },
      offset: { ...WHOLE_NUMBER, description: 'results to skip' },
      ...extra,
    },
  };
}

export const timeRange: Record<string, Schema> = {
  from: { ...DATE_TIME, description: 'inclusive, RFC 3339' },
  to: { ...DATE_TIME, description: 'exclusive, RFC 3339' },
};

/** A GeoJSON Feature (contract section 4); the geometry itself is checked by the geofence parser. */
export const geofenceFeature: Schema = {
  type: 'object',
  required: ['type', 'geometry'],
  additionalProperties: false,
  properties: {
    type: { const: 'Feature' },
    id: { type: ['string', 'number'] },
    bbox: { type: 'array', items: { type: 'number' } },
    geometry: {
      type: 'object',
      required: ['type', 'coordinates'],
      additionalProperties: false,
      properties: { type: { enum: ['Polygon', 'MultiPolygon', 'Point', 'LineString', 'MultiLineString'] }, coordinates: { type: 'array' }, bbox: { type: 'array' } },
    },
    // GeoJSON properties are an open bag: other tools' properties are kept, ours are typed.
    properties: {
      type: ['object', 'null'],
      properties: {
        id: { type: 'string', minLength: 1, maxLength: 200 },
        name: { type: 'string', maxLength: 500 },
        speed_limit: { type: ['number', 'null'], minimum: 0 },
        tags: { type: 'array', items: { type: 'string' }, maxItems: 100 },
        hysteresis_m: { type: ['number', 'null'], minimum: 0 },
        dwell_s: { type: ['number', 'null'], minimum: 0 },
        radius_m: { type: 'number', exclusiveMinimum: 0 },
        width_m: { type: 'number', exclusiveMinimum: 0, maximum: 100_000, description: 'a LineString or MultiLineString corridor\'s width: the points within half of it of the line (geodesic metres)' },
        device_tags: { type: 'array', minItems: 1, maxItems: 32, items: { type: 'string' }, description: 'only devices with one of these tags' },
        priority: { type: 'integer', description: 'rank among overlapping zones (higher first; 0 by default)' },
        confirm_s: { type: ['number', 'null'], minimum: 0, description: 'seconds inside (outside) before enter (leave) is derived' },
        schedule: { type: ['object', 'null'], description: '{"timezone": IANA name, "windows": [{"days": ["mon", ...], "from": "HH:MM", "to": "HH:MM"}], "rrule": RRULE or [RRULE, ...] (the windows open only on the dates they pick), "except": ["YYYY-MM-DD"]}: events and the speed limit only in the windows' },
      },
    },
  },
};

export const geofenceCollection: Schema = {
  type: 'object',
  required: ['type', 'features'],
  additionalProperties: false,
  properties: {
    type: { const: 'FeatureCollection' },
    bbox: { type: 'array', items: { type: 'number' } },
    features: { type: 'array', maxItems: 100_000, items: geofenceFeature },
  },
};

/** A webhook endpoint (contract section 5); `required` differs between create and change. */
export function webhookBody(required: string[]): Schema {
  return {
    type: 'object',
    required,
    additionalProperties: false,
    minProperties: 1,
    properties: {
      url: { type: 'string', minLength: 1, maxLength: 2048, description: 'http(s) URL; private addresses need WEBHOOK_ALLOW_PRIVATE' },
      events: { type: 'array', minItems: 1, maxItems: 100, items: { type: 'string', maxLength: 100 }, description: 'event types, "*" or prefixes such as "geofence.*"' },
      secret: { type: 'string', maxLength: 200, description: '"whsec_" + base64; generated when absent' },
      headers: { type: 'object', maxProperties: 20, additionalProperties: { type: 'string', maxLength: 8192 }, description: 'extra request headers; framing, proxy and signature headers are refused' },
      enabled: { type: 'boolean' },
      description: { type: ['string', 'null'], maxLength: 500 },
      throttle: {
        anyOf: [
          { type: 'object', required: ['seconds'], additionalProperties: false, properties: { seconds: { type: 'integer', minimum: 1, maximum: 86_400 } } },
          { type: 'null' },
        ],
        description: 'at most one delivery per device, event type and geofence within seconds of event time; the others are logged as throttled; null removes it',
      },
    },
  };
}
