import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import http from 'node:http';
import type { Duplex } from 'node:stream';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifySchemaValidationError } from 'fastify';
import type { Logger } from 'pino';
import type { ApiBus } from '../bus/api-bus.js';
import type { TenantQuotas } from '../core/tenant-quotas.js';
import type { GeometryThread } from '../geofences/geometry-thread.js';
import { excerpt } from '../errors.js';
import { addAnswerSchemas } from './answers.js';
import { operationsRoutes, type OperationsDeps } from './operations.js';
import { ApiError, codeForStatus, errorBody } from './api-error.js';
import { checkedJsonBody, unstorableString } from './json-body.js';
import { keyFromHeaders, tenantForKey } from './api-keys.js';
import { deviceRoutes } from './routes/devices.js';
import type { LiveDevices } from './live-devices.js';
import { backtestRoutes, type StartBacktest } from './routes/backtest.js';
import { eventRoutes } from './routes/events.js';
import { geofenceRoutes, type GeofencesChanged } from './routes/geofences.js';
import { inboundRoutes } from './routes/inbound.js';
import { reportRoutes } from './routes/reports.js';
import { webhookRoutes } from './routes/webhooks.js';
import { mapRoutes } from './routes/map.js';
import { streamRoutes } from './routes/stream.js';
import type { LiveStreams } from './live-stream.js';
import type { ApiStore } from '../core/store-ports.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The tenant of the request's integration key, set by the authentication hook. */
    tenantId: string;
  }
}

export interface AppDeps extends OperationsDeps {
  /** Where the API's rows are. */
  readonly store: ApiStore;
  /** Where the errors behind 500 answers are logged. */
  readonly log: Logger;
  /** Called after a geofence change, so that running processors reload the tenant. */
  readonly geofencesChanged: GeofencesChanged;
  /** WEBHOOK_ALLOW_PRIVATE: endpoints may target loopback and private addresses. */
  readonly webhookAllowPrivate: boolean;
  /** Where geofences are validated; null validates on the event loop (tests of small geofences). */
  readonly geometry: GeometryThread | null;
  readonly quotas: TenantQuotas;
  /** Driver assignments and the events the API derives go on the bus through this. */
  readonly bus: ApiBus;
  /** The live stream of positions and events (GET /v1/stream). */
  readonly live: LiveStreams;
  /** Who is where now: the live queries of GET /v1/devices and the geofences' occupants. */
  readonly liveDevices: LiveDevices;
  /** Runs a geofence backtest on a thread of its own. */
  readonly startBacktest: StartBacktest;
  /** BACKTEST_MAX_POSITIONS; 5 000 000 when absent. */
  readonly backtestMaxPositions?: number;
  /** MAP_TILE_URL: the live map's raster background; null, a plain one. */
  readonly mapTileUrl: string | null;
  /** HTTP_REQUEST_TIMEOUT_MS: a request (headers and body) must have arrived within this; default 30 s. */
  readonly requestTimeoutMs?: number;
}

const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
const DEFAULT_BACKTEST_MAX_POSITIONS = 5_000_000;

/** Schema violations listed in one answer, and characters of a bad value echoed back. */
const MAX_VIOLATIONS = 10;
const ECHOED_CHARACTERS = 100;

/**
 * Routes that answer without a key: health and metrics (contract section 6), the API's
 * documentation, and the map's page (which asks for a key and sends it with its requests).
 */
const isPublic = (url: string): boolean =>
  url === '/api/integration/health' || url === '/api/integration/ready' || url === '/metrics' || url === '/docs' || url.startsWith('/docs/') || url === '/map' || url.startsWith('/map/');

/** One sentence per schema violation, naming the field (ajv's own text omits unknown property names). */
function describeViolations(errors: FastifySchemaValidationError[], where: string): Error {
  const more = errors.length > MAX_VIOLATIONS ? [`and ${errors.length - MAX_VIOLATIONS} more violations`] : [];
  return new Error([...errors.slice(0, MAX_VIOLATIONS).map((e) => {
    const field = `${where}${e.instancePath.replaceAll('/', '.')}`;
    const params = e.params as { additionalProperty?: string; allowedValues?: unknown[]; allowedValue?: unknown; pattern?: string; format?: string };
    if (params.additionalProperty !== undefined) return `${field} has an unknown property "${params.additionalProperty}"`;
    const got = `, got ${excerpt(JSON.stringify((e as { data?: unknown }).data) ?? 'undefined', ECHOED_CHARACTERS)}`;
    if (params.allowedValues !== undefined) return `${field} must be one of ${params.allowedValues.map((v) => JSON.stringify(v)).join(', ')}${got}`;
    if (params.allowedValue !== undefined) return `${field} must be ${JSON.stringify(params.allowedValue)}${got}`;
    if (params.pattern === '^\\d+$') return `${field} must be a whole number >= 0${got}`;
    if (params.format === 'date-time') return `${field} must be an RFC 3339 date-time${got}`;
    return `${field} ${e.message ?? 'is invalid'}${e.keyword === 'required' ? '' : got}`;
  }), ...more].join('; '));
}

/**
 * Errors Node's HTTP parser raises before fastify sees a request (headers too large, a timeout,
 * a malformed request line), answered in the contract's error shape rather than Node's bare one.
 */
function answerClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, message] = err.code === 'HPE_HEADER_OVERFLOW'
    ? [431, 'the request line and headers are larger than the server accepts (16 KiB)']
    : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? [408, 'the request was not received in time'] : [400, `the request is not valid HTTP (${err.code ?? 'parse error'})`];
  const body = JSON.stringify(errorBody(codeForStatus(status), message));
  if (socket.writable) socket.write(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n${body}`);
  socket.destroy(err);
}

/** Builds the HTTP API (contract section 6). Tests drive it with `app.inject()`. */
export function buildApp(deps: AppDeps): FastifyInstance {
  const requestTimeout = deps.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const app = Fastify({
    logger: false,
    bodyLimit: 1024 * 1024,
    // A request whose body never comes is answered 408 and closed, not held for Node's 300 s.
    // Given to Node's server itself too: only then are its headers timeout (at most this) and
    // the check of its connections (every connectionsCheckingInterval) set to match.
    requestTimeout,
    http: { requestTimeout, connectionsCheckingInterval: Math.min(requestTimeout, 30_000) / 2 },
    // Unknown fields are refused (schemas say additionalProperties: false), not silently dropped.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: true, verbose: true, allowUnionTypes: true } },
    schemaErrorFormatter: describeViolations,
    clientErrorHandler: answerClientError,
    // A malformed percent-encoding or an over-long path parameter: the contract's shape too.
    frameworkErrors: (err, _request, reply) => {
      const status = err.statusCode ?? 400;
      void (reply as FastifyReply).code(status).send(errorBody(codeForStatus(status), err.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 'a path parameter is longer than the server accepts' : 'the URL is not valid (a malformed percent-encoding)'));
    },
  });
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    try {
      done(null, checkedJsonBody(body as string, (text) => {
        let parsed: { err: Error | null; value: unknown } = { err: null, value: undefined };
        parseJson(request, text, (err, value) => void (parsed = { err, value }));
        if (parsed.err !== null) throw parsed.err;
        return parsed.value;
      }));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
  // Path and query values reach SQL as text: refuse what PostgreSQL cannot store with a 400.
  app.addHook('preValidation', async (request) => {
    const problem = unstorableString(request.params, 'path') ?? unstorableString(request.query, 'query');
    if (problem !== null) throw new ApiError('invalid_request', problem);
  });
  app.decorateRequest('tenantId', '');

  app.addHook('onRequest', async (request) => {
    if (isPublic(request.routeOptions.url ?? request.url)) return;
    const key = keyFromHeaders(request.headers);
    if (key === null) throw new ApiError('unauthorized', 'send an integration key in X-Integration-Key or Authorization: Bearer');
    const tenantId = await tenantForKey(deps.store.keys, key);
    if (tenantId === null) throw new ApiError('unauthorized', 'the integration key is unknown or revoked');
    request.tenantId = tenantId;
  });

  app.setErrorHandler((err, request, reply) => {
    if (err instanceof ApiError) {
      if (err.retryAfterS !== undefined) void reply.header('retry-after', String(err.retryAfterS));
      return reply.code(err.status).send(errorBody(err.code, err.message));
    }
    const { statusCode: status, message, code } = err as { statusCode?: number; message?: string; code?: string };
    if (code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      return reply.code(413).send(errorBody('payload_too_large', `the body is larger than this route takes: at most ${request.routeOptions.bodyLimit} bytes`));
    }
    if (status !== undefined && status >= 400 && status < 500) {
      return reply.code(status).send(errorBody(codeForStatus(status), excerpt(message ?? 'the request is malformed', 2000)));
    }
    deps.log.error({ err, method: request.method, url: request.url }, 'API request failed');
    return reply.code(500).send(errorBody('internal_error', 'the server failed to answer; the error is logged'));
  });

  app.setNotFoundHandler((request, reply) => reply.code(404).send(errorBody('not_found', `no route ${request.method} ${excerpt(request.url, 200)}`)));

  void app.register(swagger, {
    openapi: {
      // 3.1: its schemas are JSON Schema, as the routes' (ajv) are; 3.0 would need draft-04 forms
      // such as a boolean exclusiveMinimum that the validator refuses.
      openapi: '3.1.0',
      info: { title: 'fencewire', version: deps.version, description: 'Geofences, devices, events and webhooks (contract section 6). Send the integration key in X-Integration-Key or Authorization: Bearer.' },
      components: { securitySchemes: { integrationKey: { type: 'apiKey', in: 'header', name: 'X-Integration-Key' } } },
      security: [{ integrationKey: [] }],
    },
    // Shared schemas (the answers') appear under their own names in components.schemas.
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
  });
  void app.register(swaggerUi, { routePrefix: '/docs' });

  // Every route is registered after swagger, so that its route hook sees them.
  void app.register(async (api) => {
    addAnswerSchemas(api);
    operationsRoutes(api, deps);
    eventRoutes(api, deps.store.events);
    reportRoutes(api, deps.store.reports);
    deviceRoutes(api, deps.store.devices, deps.bus, deps.liveDevices);
    backtestRoutes(api, { geofences: deps.store.geofences, tenants: deps.store.tenants, start: deps.startBacktest, maxPositions: deps.backtestMaxPositions ?? DEFAULT_BACKTEST_MAX_POSITIONS });
    geofenceRoutes(api, { store: deps.store.geofences, changed: deps.geofencesChanged, geometry: deps.geometry, limits: deps.quotas.geofences, live: deps.liveDevices });
    inboundRoutes(api, deps.store.events, deps.bus, deps.quotas);
    webhookRoutes(api, deps.store.webhooks, deps.webhookAllowPrivate, deps.quotas);
    streamRoutes(api, deps.live);
    mapRoutes(api, deps.mapTileUrl);
  });
  // Live streams never end by themselves: end them before the server waits for its connections.
  app.addHook('preClose', async () => deps.live.stop());
  return app;
}
