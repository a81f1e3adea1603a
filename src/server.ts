import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { jetStreamApiBus } from './bus/api-bus.js';
import { buildOperationsApp } from './http/operations.js';
import { LiveStreams } from './http/live-stream.js';
import { LiveDevices } from './http/live-devices.js';
import { startBacktest } from './backtest/backtest-thread.js';
import { followDeviceAnnouncements } from './bus/device-announcements.js';
import { natsLiveSource } from './bus/live-source.js';
import type { NatsConnection } from '@nats-io/transport-node';
import { connectNats } from './bus/connection.js';
import type { FastifyInstance } from 'fastify';
import type pg from 'pg';
import { AggregatorRegistry, type MetricObjectWithValues, type MetricValue } from 'prom-client';
import type { Logger } from 'pino';
import { ensureStreams, ensureWebhookConsumer } from './bus/streams.js';
import { topology } from './bus/topology.js';
import type { Config } from './config.js';
import { buildApp } from './http/app.js';
import { IngestProcessor } from './ingest/ingest-processor.js';
import { createMetrics, type Metrics } from './metrics.js';
import { createPool, ping, waitForDatabaseServer } from './store/database.js';
import { orAfter } from './timeout.js';
import { PgBatchStore } from './store/batch-store.js';
import { loadCommandKey } from './store/command-key.js';
import { PgPartitionStore } from './store/partition-store.js';
import { jetStreamEventSink } from './bus/event-sink.js';
import { natsIngestBus } from './bus/ingest-bus.js';
import { jetStreamEventFeed } from './bus/event-feed.js';
import { GeofenceCatalog } from './geofences/geofence-catalog.js';
import { followGeofenceChanges, notifyGeofencesChanged } from './bus/geofence-changes.js';
import { apiStore } from './store/api-store.js';
import { deliveryStore } from './store/delivery-store.js';
import { geofenceStore } from './store/geofence-store.js';
import { tenantStore } from './store/tenant-store.js';
import { GeometryThread } from './geofences/geometry-thread.js';
import { applyStoragePolicy, timescaleJobStats } from './store/storage-policies.js';
import { catchUnhandledRejections } from './unhandled-rejections.js';
import { VERSION } from './version.js';
import { WebhookWorker } from './webhooks/webhook-worker.js';

export type Role = 'ingest' | 'webhooks' | 'api';
export const ROLES: readonly Role[] = ['ingest', 'webhooks', 'api'];

export interface RunningServer {
  /** The HTTP port actually bound (useful when HTTP_PORT is 0). */
  readonly httpPort: number | null;
  readonly metrics: Metrics;
  /** Stops everything in order; resolves true when every batch in hand was committed. */
  stop(): Promise<boolean>;
}

const POLICY_INTERVAL_MS = 60 * 60 * 1000;
const JOB_STATS_INTERVAL_MS = 60 * 1000;
/** Ingest's own connections: the group commit (and a COPY in its transaction), claims, take-over reads. */
const INGEST_CONNECTIONS = 8;
/** Checkpoints and devices refreshes, written beside the batches. */
const UPKEEP_CONNECTIONS = 2;
const HEALTH_TIMEOUT_MS = 2000;
/** NATS's default max_payload, for the moment before the server's INFO is known. */
const DEFAULT_MAX_PAYLOAD = 1024 * 1024;

/** True when a health probe succeeds in time. */
function withTimeout(probe: Promise<unknown>): Promise<boolean> {
  return orAfter(probe.then(() => true, () => false), HEALTH_TIMEOUT_MS, false);
}

/** A connection of `serve`'s: reconnects forever, and says in the log when it drops or comes back. */
async function connectServing(config: Config, log: Logger, name = 'fencewire'): Promise<NatsConnection> {
  const nc = await connectNats(config, log, name, true);
  void (async () => {
    for await (const status of nc.status()) {
      if (status.type === 'disconnect' || status.type === 'reconnect') log.warn({ nats: status.type, connection: name }, 'NATS connection changed');
    }
  })();
  return nc;
}

export interface ServerOptions {
  /** Metrics of other processes (ingest workers) to add to this one's on /metrics. */
  readonly moreMetrics?: () => Promise<MetricObjectWithValues<MetricValue<string>>[][]>;
  /** False for an ingest worker: its parent serves HTTP, with the worker's metrics in its own. */
  readonly http?: boolean;
}

/**
 * The composition root of `fencewire serve`: connects to NATS and PostgreSQL, makes sure the
 * streams and consumers exist, and starts the requested roles.
 */
export async function startServer(config: Config, log: Logger, roles: readonly Role[] = ROLES, options: ServerOptions = {}): Promise<RunningServer> {
  const metrics = createMetrics();
  const stopCatching = catchUnhandledRejections(log, metrics);
  const t = topology(config.namespace);
  await waitForDatabaseServer(config.databaseUrl, log, config.startupWaitMs);
  const nc = await connectServing(config, log);
  // Shared by ingest's writer, the event publisher, the webhook worker and the API.
  const pool: pg.Pool = createPool(config.databaseUrl, log, 8);
  const js = jetstream(nc);
  const commandKey = await loadCommandKey(pool);
  // Geofence validation and preparation, off the event loop; started on first use.
  const geometry = new GeometryThread();

  let ingest: IngestProcessor | null = null;
  let ingestPool: pg.Pool | null = null;
  let upkeepPool: pg.Pool | null = null;
  let control: NatsConnection | null = null;
  let policyTimer: NodeJS.Timeout | null = null;
  let jobStatsTimer: NodeJS.Timeout | null = null;
  let catalog: GeofenceCatalog | null = null;
  let webhooks: WebhookWorker | null = null;
  const jsm = await jetstreamManager(nc);
  await ensureStreams(jsm, t, config.streams);
  if (roles.includes('webhooks')) {
    // Before ingest starts publishing, so that the new consumer sees its first events.
    await ensureWebhookConsumer(jsm, t);
    webhooks = new WebhookWorker({ feed: jetStreamEventFeed(js, t, nc.info?.max_payload ?? DEFAULT_MAX_PAYLOAD), deliveries: deliveryStore(pool), settings: config.webhooks, metrics, log });
    await webhooks.start();
  }
  if (roles.includes('ingest')) {
    catalog = new GeofenceCatalog({ ...geofenceStore(pool), rules: tenantStore(pool).rules }, log, geometry);
    await catalog.start((onChange) => followGeofenceChanges(nc, t, onChange));
    // Batches have a pool of their own, so that API load cannot starve them. A processor paused
    // in the middle of a batch's transaction holds its partition's row, which the next owner's
    // claim waits for: the server ends such a session once it has idled for the lease time.
    const sessions = { idle_in_transaction_session_timeout: config.ingest.leaseMs };
    ingestPool = createPool(config.databaseUrl, log, INGEST_CONNECTIONS, sessions);
    upkeepPool = createPool(config.databaseUrl, log, UPKEEP_CONNECTIONS, sessions);
    control = await connectServing(config, log, 'fencewire-leases');
    const bus = natsIngestBus({ control, nc, js, jsm, topology: t, settings: config.ingest, maxPayload: nc.info?.max_payload ?? DEFAULT_MAX_PAYLOAD, log });
    ingest = new IngestProcessor({
      bus, telemetryPrefix: t.telemetryPrefix, batches: new PgBatchStore(ingestPool, upkeepPool), partitions: new PgPartitionStore(ingestPool), rules: catalog,
      events: jetStreamEventSink(js, t), metrics, log, settings: config.ingest, commandKey,
    });
    await ingest.start();
    const maintain = () =>
      applyStoragePolicy(pool, config.storage).then(
        (report) => report.created.length + report.dropped.length + Object.values(report.deleted).reduce((a, b) => a + b, 0) > 0 && log.info(report, 'storage policy applied'),
        (err: Error) => log.warn({ err: err.message }, 'storage policy failed; will retry'),
      );
    void maintain();
    // TimescaleDB runs the policies in its own scheduler: their failures show only here.
    const readJobStats = () =>
      timescaleJobStats(pool).then((stats) => {
        for (const s of stats) {
          metrics.timescaleJobOk.set({ job: s.proc }, s.lastRunStatus === 'Failed' ? 0 : 1);
          metrics.timescaleJobFailures.set({ job: s.proc }, s.totalFailures);
        }
      }, (err: Error) => log.warn({ err: err.message }, 'could not read TimescaleDB job stats; will retry'));
    void readJobStats();
    policyTimer = setInterval(maintain, POLICY_INTERVAL_MS);
    jobStatsTimer = setInterval(readJobStats, JOB_STATS_INTERVAL_MS);
  }

  let app: FastifyInstance | null = null;
  let httpPort: number | null = null;
  const operations = {
    version: VERSION,
    metrics,
    metricsText: options.moreMetrics && (async () => {
      const all = [await metrics.registry.getMetricsAsJSON(), ...(await options.moreMetrics?.() ?? [])];
      return AggregatorRegistry.aggregate(all).metrics();
    }),
    readiness: ingest === null ? undefined : () => (ingest as IngestProcessor).readiness(),
    health: {
      nats: () => withTimeout(nc.isClosed() ? Promise.reject(new Error('closed')) : nc.flush()),
      database: () => withTimeout(ping(pool)),
    },
  };
  let stopFollowing: (() => void) | null = null;
  if (roles.includes('api')) {
    const store = apiStore(pool);
    const liveDevices = new LiveDevices({ lastPositions: store.devices.lastPositions, feature: store.geofences.feature });
    stopFollowing = followDeviceAnnouncements(nc, t, liveDevices);
    app = buildApp({
      ...operations,
      store,
      log,
      geofencesChanged: (tenantId, geofenceIds) => notifyGeofencesChanged(nc, t, tenantId, geofenceIds),
      webhookAllowPrivate: config.webhooks.allowPrivate,
      geometry,
      quotas: config.quotas,
      bus: jetStreamApiBus(js, t, commandKey),
      live: new LiveStreams(natsLiveSource(nc, t), metrics, (hashes) => store.keys.valid(hashes)),
      liveDevices,
      startBacktest: (job) => startBacktest({ ...job, databaseUrl: config.databaseUrl }),
      backtestMaxPositions: config.backtestMaxPositions,
      mapTileUrl: config.mapTileUrl,
      requestTimeoutMs: config.httpRequestTimeoutMs,
    });
  } else if (options.http !== false) {
    // Every process answers health checks and Prometheus, whatever its roles.
    app = buildOperationsApp(operations);
  }
  if (app !== null) {
    try {
      await app.listen({ port: config.httpPort, host: config.httpHost });
      const address = app.server.address();
      httpPort = typeof address === 'object' && address !== null ? address.port : config.httpPort;
    } catch (err) {
      // Processors without the API share a host more often than not: one whose port is taken
      // still processes, without health and metrics, rather than refusing to start.
      if (roles.includes('api') || (err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
      log.warn({ port: config.httpPort }, 'HTTP_PORT is in use: this processor serves no health check or metrics; give it a port of its own');
      await app.close();
      app = null;
    }
  }
  log.info({ roles, httpPort, namespace: config.namespace || undefined }, 'fencewire started');

  return {
    httpPort,
    metrics,
    async stop() {
      if (policyTimer) clearInterval(policyTimer);
      if (jobStatsTimer) clearInterval(jobStatsTimer);
      const committed = ingest ? await ingest.stop(config.shutdownTimeoutMs) : true;
      catalog?.stop();
      stopFollowing?.();
      await webhooks?.stop();
      await app?.close();
      await nc.drain().catch(() => undefined);
      await control?.drain().catch(() => undefined);
      await pool.end().catch(() => undefined);
      await ingestPool?.end().catch(() => undefined);
      await upkeepPool?.end().catch(() => undefined);
      await geometry.close();
      stopCatching();
      log.info({ committed }, 'fencewire stopped');
      return committed;
    },
  };
}
