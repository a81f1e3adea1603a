import Fastify, { type FastifyInstance } from 'fastify';
import type { Metrics } from '../metrics.js';

/** A dependency the health endpoint probes; resolves true when it answers. */
export type HealthCheck = () => Promise<boolean>;

export interface AppDeps {
  readonly version: string;
  readonly metrics: Metrics;
  readonly health: { readonly nats: HealthCheck; readonly database: HealthCheck };
}

/** Builds the HTTP API (contract section 6). Tests drive it with `app.inject()`. */
export function buildApp(deps: AppDeps): FastifyInstance {
  const app = Fastify({ logger: false });

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

  return app;
}
