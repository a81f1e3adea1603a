import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyInstance, type FastifySchemaValidationError } from 'fastify';
import type pg from 'pg';
import type { Logger } from 'pino';
import type { Metrics } from '../metrics.js';
import { API_ERROR_STATUS, ApiError, errorBody } from './api-error.js';
import { keyFromHeaders, tenantForKey } from './api-keys.js';
import { deviceRoutes } from './routes/devices.js';
import { eventRoutes } from './routes/events.js';
import { geofenceRoutes, type GeofencesChanged } from './routes/geofences.js';
import { inboundRoutes } from './routes/inbound.js';
import { webhookRoutes } from './routes/webhooks.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The tenant of the request's integration key, set by the authentication hook. */
    tenantId: string;
  }
}

/** A dependency the health endpoint probes; resolves true when it answers. */
export type HealthCheck = () => Promise<boolean>;

export interface AppDeps {
  readonly version: string;
  readonly metrics: Metrics;
  readonly db: pg.Pool;
  /** Where the errors behind 500 answers are logged. */
  readonly log: Logger;
  readonly health: { readonly nats: HealthCheck; readonly database: HealthCheck };
  /** Called after a geofence change, so that running processors reload the tenant. */
  readonly geofencesChanged: GeofencesChanged;
  /** WEBHOOK_ALLOW_PRIVATE: endpoints may target loopback and private addresses. */
  readonly webhookAllowPrivate: boolean;
}

/** Routes that answer without a key: health and metrics (contract section 6), and the API's documentation. */
const isPublic = (url: string): boolean => url === '/api/integration/health' || url === '/metrics' || url === '/docs' || url.startsWith('/docs/');

/** One sentence per schema violation, naming the field (ajv's own text omits unknown property names). */
function describeViolations(errors: FastifySchemaValidationError[], where: string): Error {
  return new Error(errors.map((e) => {
    const field = `${where}${e.instancePath.replaceAll('/', '.')}`;
    const params = e.params as { additionalProperty?: string; allowedValues?: unknown[]; allowedValue?: unknown; pattern?: string; format?: string };
    if (params.additionalProperty !== undefined) return `${field} has an unknown property "${params.additionalProperty}"`;
    const got = `, got ${JSON.stringify((e as { data?: unknown }).data)}`;
    if (params.allowedValues !== undefined) return `${field} must be one of ${params.allowedValues.map((v) => JSON.stringify(v)).join(', ')}${got}`;
    if (params.allowedValue !== undefined) return `${field} must be ${JSON.stringify(params.allowedValue)}${got}`;
    if (params.pattern === '^\\d+$') return `${field} must be a whole number >= 0${got}`;
    if (params.format === 'date-time') return `${field} must be an RFC 3339 date-time${got}`;
    return `${field} ${e.message ?? 'is invalid'}${e.keyword === 'required' ? '' : got}`;
  }).join('; '));
}

/** Builds the HTTP API (contract section 6). Tests drive it with `app.inject()`. */
export function buildApp(deps: AppDeps): FastifyInstance {
  const app = Fastify({
    logger: false,
    bodyLimit: 1024 * 1024,
    // Unknown fields are refused (schemas say additionalProperties: false), not silently dropped.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: true, verbose: true, allowUnionTypes: true } },
    schemaErrorFormatter: describeViolations,
  });
  app.decorateRequest('tenantId', '');

  app.addHook('onRequest', async (request) => {
    if (isPublic(request.routeOptions.url ?? request.url)) return;
    const key = keyFromHeaders(request.headers);
    if (key === null) throw new ApiError('unauthorized', 'send an integration key in X-Integration-Key or Authorization: Bearer');
    const tenantId = await tenantForKey(deps.db, key);
    if (tenantId === null) throw new ApiError('unauthorized', 'the integration key is unknown or revoked');
    request.tenantId = tenantId;
  });

  app.setErrorHandler((err, request, reply) => {
    if (err instanceof ApiError) return reply.code(err.status).send(errorBody(err.code, err.message));
    const { statusCode: status, message } = err as { statusCode?: number; message?: string };
    if (status === 413) return reply.code(413).send(errorBody('payload_too_large', message ?? 'the body is too large'));
    if (status !== undefined && status >= 400 && status < 500) {
      return reply.code(API_ERROR_STATUS.invalid_request).send(errorBody('invalid_request', message ?? 'the request is malformed'));
    }
    deps.log.error({ err, method: request.method, url: request.url }, 'API request failed');
    return reply.code(500).send(errorBody('internal_error', 'the server failed to answer; the error is logged'));
  });

  app.setNotFoundHandler((request, reply) => reply.code(404).send(errorBody('not_found', `no route ${request.method} ${request.url}`)));

  void app.register(swagger, {
    openapi: {
      info: { title: 'fencewire', version: deps.version, description: 'Geofences, devices, events and webhooks (contract section 6). Send the integration key in X-Integration-Key or Authorization: Bearer.' },
      components: { securitySchemes: { integrationKey: { type: 'apiKey', in: 'header', name: 'X-Integration-Key' } } },
      security: [{ integrationKey: [] }],
    },
  });
  void app.register(swaggerUi, { routePrefix: '/docs' });

  // Every route is registered after swagger, so that its route hook sees them.
  void app.register(async (api) => {
    api.get('/api/integration/health', { schema: { tags: ['operations'], summary: 'Liveness of NATS and the database; no key needed', security: [] } }, async (_request, reply) => {
      const [nats, database] = await Promise.all([deps.health.nats(), deps.health.database()]);
      const ok = nats && database;
      return reply.code(ok ? 200 : 503).send({
        status: ok ? 'ok' : 'unavailable',
        product: 'fencewire',
        version: deps.version,
        checks: { nats: nats ? 'ok' : 'unreachable', database: database ? 'ok' : 'unreachable' },
      });
    });

    api.get('/metrics', { schema: { tags: ['operations'], summary: 'Prometheus metrics; no key needed', security: [] } }, async (_request, reply) => {
      return reply.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
    });

    eventRoutes(api, deps.db);
    deviceRoutes(api, deps.db);
    geofenceRoutes(api, deps.db, deps.geofencesChanged);
    inboundRoutes(api, deps.db);
    webhookRoutes(api, deps.db, deps.webhookAllowPrivate);
  });
  return app;
}
