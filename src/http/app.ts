import Fastify, { type FastifyInstance } from 'fastify';
import type pg from 'pg';
import type { Metrics } from '../metrics.js';
import { API_ERROR_STATUS, ApiError, errorBody } from './api-error.js';
import { keyFromHeaders, tenantForKey } from './api-keys.js';
import { deviceRoutes } from './routes/devices.js';
import { eventRoutes } from './routes/events.js';
import { geofenceRoutes, type GeofencesChanged } from './routes/geofences.js';
import { inboundRoutes } from './routes/inbound.js';

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
  readonly health: { readonly nats: HealthCheck; readonly database: HealthCheck };
  /** Called after a geofence change, so that running processors reload the tenant. */
  readonly geofencesChanged: GeofencesChanged;
}

/** Routes that answer without a key (contract section 6). */
const PUBLIC = new Set(['/api/integration/health', '/metrics']);

/** Builds the HTTP API (contract section 6). Tests drive it with `app.inject()`. */
export function buildApp(deps: AppDeps): FastifyInstance {
  const app = Fastify({ logger: false, bodyLimit: 1024 * 1024 });
  app.decorateRequest('tenantId', '');

  app.addHook('onRequest', async (request) => {
    if (PUBLIC.has(request.routeOptions.url ?? '')) return;
    const key = keyFromHeaders(request.headers);
    if (key === null) throw new ApiError('unauthorized', 'send an integration key in X-Integration-Key or Authorization: Bearer');
    const tenantId = await tenantForKey(deps.db, key);
    if (tenantId === null) throw new ApiError('unauthorized', 'the integration key is unknown or revoked');
    request.tenantId = tenantId;
  });

  app.setErrorHandler((err, _request, reply) => {
    if (err instanceof ApiError) return reply.code(err.status).send(errorBody(err.code, err.message));
    const { statusCode: status, message } = err as { statusCode?: number; message?: string };
    if (status === 413) return reply.code(413).send(errorBody('payload_too_large', message ?? 'the body is too large'));
    if (status !== undefined && status >= 400 && status < 500) {
      return reply.code(API_ERROR_STATUS.invalid_request).send(errorBody('invalid_request', message ?? 'the request is malformed'));
    }
    return reply.code(500).send(errorBody('internal_error', 'the server failed to answer; the error is logged'));
  });

  app.setNotFoundHandler((request, reply) => reply.code(404).send(errorBody('not_found', `no route ${request.method} ${request.url}`)));

  app.get('/api/integration/health', async (_request, reply) => {
    const [nats, database] = await Promise.all([deps.health.nats(), deps.health.database()]);
    const ok = nats && database;
    return reply.code(ok ? 200 : 503).send({
      status: ok ? 'ok' : 'unavailable',
      product: 'fencewire',
      version: deps.version,
      checks: { nats: nats ? 'ok' : 'unreachable', database: database ? 'ok' : 'unreachable' },
    });
  });

  app.get('/metrics', async (_request, reply) => {
    return reply.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });

  eventRoutes(app, deps.db);
  deviceRoutes(app, deps.db);
  geofenceRoutes(app, deps.db, deps.geofencesChanged);
  inboundRoutes(app, deps.db);
  return app;
}
