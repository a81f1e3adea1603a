import Fastify, { type FastifyInstance } from 'fastify';
import type { Metrics } from '../metrics.js';
import { answer, answers } from './answers.js';
import { excerpt } from '../errors.js';
import { errorBody } from './api-error.js';

/** A dependency the health endpoint probes; resolves true when it answers. */
type HealthCheck = () => Promise<boolean>;

/** Whether the process does its work now (readiness), beside being alive (health). */
export interface Readiness {
  readonly ready: boolean;
  /** What the process is doing, in a few words: `owns 3 partitions`, `standby`, `starting partitions`. */
  readonly state: string;
}

/** What the operations routes need: every role has them, whether it serves the API or not. */
export interface OperationsDeps {
  readonly version: string;
  readonly metrics: Metrics;
  readonly health: { readonly nats: HealthCheck; readonly database: HealthCheck };
  /** The text of /metrics; by default this process's registry (serve with workers adds theirs). */
  readonly metricsText?: () => Promise<string>;
  /** Readiness beyond health: an ingest processor's ownership; absent, ready when healthy. */
  readonly readiness?: () => Readiness;
}

/**
 * `GET /api/integration/health` (liveness) and `GET /metrics` (contract section 6), and `GET
 * /api/integration/ready` (readiness, ours), no key needed.
 */
export function operationsRoutes(api: FastifyInstance, deps: OperationsDeps): void {
  const health = answer.object({
    status: { type: 'string', enum: ['ok', 'unavailable'] }, product: { const: 'fencewire' }, version: answer.text,
    checks: answer.object({ nats: { type: 'string', enum: ['ok', 'unreachable'] }, database: { type: 'string', enum: ['ok', 'unreachable'] } }),
  });
  api.get('/api/integration/health', {
    schema: { tags: ['operations'], summary: 'Liveness of NATS and the database; no key needed', security: [], response: answers({ 200: health, 503: health }, { public: true }) },
  }, async (_request, reply) => {
    const [nats, database] = await Promise.all([deps.health.nats(), deps.health.database()]);
    const ok = nats && database;
    return reply.code(ok ? 200 : 503).send({
      status: ok ? 'ok' : 'unavailable',
      product: 'fencewire',
      version: deps.version,
      checks: { nats: nats ? 'ok' : 'unreachable', database: database ? 'ok' : 'unreachable' },
    });
  });

  const ready = answer.object({ status: { type: 'string', enum: ['ready', 'not_ready'] }, state: answer.text });
  api.get('/api/integration/ready', {
    schema: {
      tags: ['operations'], summary: 'Readiness: NATS and the database answer, and an ingest processor owns partitions it consumes or is a standby whose lease rounds run; no key needed',
      security: [], response: answers({ 200: ready, 503: ready }, { public: true }),
    },
  }, async (_request, reply) => {
    const [nats, database] = await Promise.all([deps.health.nats(), deps.health.database()]);
    const own = deps.readiness?.() ?? { ready: true, state: 'serving' };
    const state = !nats ? 'NATS unreachable' : !database ? 'database unreachable' : own.state;
    const ok = nats && database && own.ready;
    return reply.code(ok ? 200 : 503).send({ status: ok ? 'ready' : 'not_ready', state });
  });

  api.get('/metrics', {
    schema: {
      tags: ['operations'], summary: 'Prometheus metrics; no key needed', security: [],
      response: { 200: { description: 'The Prometheus text format', content: { 'text/plain': { schema: { type: 'string' } } } } },
    },
  }, async (_request, reply) => {
    return reply.type(deps.metrics.registry.contentType).send(await (deps.metricsText ?? (() => deps.metrics.registry.metrics()))());
  });
}

/**
 * The HTTP server of a process without the API role (an ingest or webhook processor): health,
 * for the container's health check, and metrics, for Prometheus.
 */
export function buildOperationsApp(deps: OperationsDeps): FastifyInstance {
  const app = Fastify({ logger: false });
  void app.register(async (api) => operationsRoutes(api, deps));
  app.setNotFoundHandler((request, reply) => reply.code(404).send(errorBody('not_found', `no route ${request.method} ${excerpt(request.url, 200)}; this process serves only /api/integration/health and /metrics`)));
  return app;
}
