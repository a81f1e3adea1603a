import { apiStore } from '../../src/store/api-store.js';
import { keyStore } from '../../src/store/key-store.js';
import { randomBytes } from 'node:crypto';
import { jetstream, jetstreamManager, type ConsumerInfo, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node';
import pg from 'pg';
import { pino } from 'pino';
import { connectNats } from '../../src/bus/connection.js';
import { partitionConsumer } from '../../src/bus/partitions.js';
import { ensureStreams } from '../../src/bus/streams.js';
import { telemetrySubject, topology, type Topology } from '../../src/bus/topology.js';
import { loadConfig, type Config } from '../../src/config.js';
import { connectionConfig, createPool, dropDatabase, ensureDatabase } from '../../src/store/database.js';
import { migrate, timescaleLoadable } from '../../src/store/migrate.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { jetStreamApiBus } from '../../src/bus/api-bus.js';
import { natsLiveSource } from '../../src/bus/live-source.js';
import { LiveStreams } from '../../src/http/live-stream.js';
import type { AppDeps } from '../../src/http/app.js';
import { createMetrics } from '../../src/metrics.js';
import { applyStoragePolicy } from '../../src/store/storage-policies.js';
import { PgBatchStore } from '../../src/store/batch-store.js';
import type { GroupOutcome } from '../../src/core/ingest-ports.js';
import { PgPartitionStore } from '../../src/store/partition-store.js';
import { loadCommandKey } from '../../src/store/command-key.js';
import { LiveDevices } from '../../src/http/live-devices.js';
import { startBacktest } from '../../src/backtest/backtest-thread.js';
import { followDeviceAnnouncements } from '../../src/bus/device-announcements.js';
import type { DevicePosition, Fix } from '../../src/core/fix.js';
import type { DerivedEvent } from '../../src/core/event.js';

/** The database server tests create their databases on; NATS likewise. */
const DATABASE_SERVER = process.env.TEST_DATABASE_SERVER ?? 'postgres://127.0.0.1:5432';
const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';

export const silentLog = pino({ level: 'silent' });

export interface TestEnv {
  readonly id: string;
  readonly config: Config;
  /** The environment a spawned `fencewire` process needs to join this test's namespace. */
  readonly env: Record<string, string>;
  readonly topology: Topology;
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly db: pg.Pool;
  /** The world's command key (migration 012), for an API bus that signs commands as `serve`'s does. */
  readonly commandKey: string;
  /** Publishes one telemetry message and waits for JetStream to store it. */
  publish(tenant: string, device: string, payload: Uint8Array, contentType?: string): Promise<void>;
  dispose(): Promise<void>;
}

/**
 * An isolated world for one test file: its own database (migrated) on the real PostgreSQL and
 * its own stream namespace on the real NATS, both removed by `dispose()`.
 */
export async function setup(overrides: Record<string, string> = {}): Promise<TestEnv> {
  const id = `t${randomBytes(5).toString('hex')}`;
  const env: Record<string, string> = {
    NATS_URL,
    DATABASE_URL: `${DATABASE_SERVER}/fw_${id}`,
    FENCEWIRE_NAMESPACE: id,
    HTTP_PORT: '0',
    LOG_LEVEL: 'silent',
    INGEST_LEASE_MS: '2000',
    // Spawned processors are one process each: tests kill them and read their logs.
    INGEST_WORKERS: '1',
    // Small streams: JetStream reserves their bytes on the shared server while the test runs.
    TELEMETRY_STREAM_MAX_BYTES: String(256 * 1024 * 1024),
    EVENTS_STREAM_MAX_BYTES: String(128 * 1024 * 1024),
    DLQ_STREAM_MAX_BYTES: String(64 * 1024 * 1024),
    ...overrides,
  };
  const config = loadConfig(env);
  await ensureDatabase(config.databaseUrl);
  // createPool, as the processor does: an error on a connection the pool is closing (the database
  // dropped under it at dispose) is logged, not left to crash the test run as an unhandled 'error'.
  const db = createPool(config.databaseUrl, silentLog, 2);
  await migrate(db);
  await applyStoragePolicy(db, config.storage);
  const commandKey = await loadCommandKey(db);

  const t = topology(config.namespace);
  const nc = await connectNats(config, silentLog, 'fencewire-test');
  const jsm = await jetstreamManager(nc);
  await ensureStreams(jsm, t, config.streams);
  const js = jetstream(nc);

  return {
    id, config, env, topology: t, nc, js, jsm, db, commandKey,
    async publish(tenant, device, payload, contentType) {
      const h = natsHeaders();
      if (contentType) h.set('Content-Type', contentType);
      await js.publish(telemetrySubject(t, tenant, device), payload, contentType ? { headers: h } : undefined);
    },
    async dispose() {
      for (const stream of [t.telemetryStream, t.dlqStream, t.eventsStream]) await jsm.streams.delete(stream).catch(() => false);
      await nc.close();
      await db.end();
      await dropDatabase(config.databaseUrl);
    },
  };
}

/**
 * The HTTP API's dependencies on a test world, as `serve` wires them (the real database and
 * NATS), with no geometry thread and the world's quotas unless `overrides` says otherwise.
 */
export function apiDeps(world: TestEnv, overrides: Partial<AppDeps> = {}): AppDeps {
  const store = apiStore(world.db);
  const liveDevices = new LiveDevices({ lastPositions: store.devices.lastPositions, feature: store.geofences.feature });
  // Followed until the world's connection closes.
  followDeviceAnnouncements(world.nc, world.topology, liveDevices);
  return {
    version: '0.1.0', metrics: createMetrics(), store, liveDevices, startBacktest: (job) => startBacktest({ ...job, databaseUrl: world.config.databaseUrl }), log: silentLog, health: { nats: async () => true, database: async () => true },
    geofencesChanged: async () => undefined, webhookAllowPrivate: false, geometry: null, quotas: world.config.quotas,
    bus: jetStreamApiBus(world.js, world.topology, world.commandKey), live: new LiveStreams(natsLiveSource(world.nc, world.topology), createMetrics(), (hashes) => keyStore(world.db).valid(hashes)), mapTileUrl: null,
    ...overrides,
  };
}

/** Polls `probe` until it returns true, or fails after `timeoutMs` with `what` in the message. */
export async function waitFor(what: string, probe: () => Promise<boolean> | boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export async function countPositions(db: pg.Pool, where = 'true'): Promise<number> {
  const result = await db.query<{ n: string }>(`SELECT count(*) AS n FROM positions WHERE ${where}`);
  return Number(result.rows[0]?.n);
}

/**
 * True when the test database server can load TimescaleDB (installed and preloaded), which is
 * when migrations make positions a hypertable. Decided once, when tests are collected.
 */
export async function timescaleEnabled(): Promise<boolean> {
  const probe = new pg.Client(connectionConfig(`${DATABASE_SERVER}/postgres`));
  await probe.connect();
  try {
    return await timescaleLoadable(probe);
  } finally {
    await probe.end();
  }
}

/** A world with fencewire (all roles) running in this process on it. */
export async function setupWithServer(): Promise<{ world: TestEnv; server: RunningServer }> {
  const world = await setup();
  return { world, server: await startServer(world.config, silentLog) };
}

/** Stops what `setupWithServer` started; tolerates a setup that failed half-way. */
export async function disposeWithServer(world: TestEnv | undefined, server: RunningServer | undefined): Promise<void> {
  await server?.stop();
  await world?.dispose();
}

/** A value as the UTF-8 bytes of its JSON, as a device sending JSON would. */
export function jsonBytes(value: unknown): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(value));
}

/**
 * Commits fixes and events as a partition's owner would, for tests that need stored data
 * without a processor: it claims the one partition of an unpartitioned server (fencing any
 * earlier claim) and writes one batch under that hold.
 */
function latestPerDevice(fixes: readonly Fix[]): DevicePosition[] {
  const latest = new Map<string, Fix>();
  for (const fix of fixes) if ((latest.get(`${fix.tenantId}.${fix.deviceId}`)?.ts ?? -Infinity) < fix.ts) latest.set(`${fix.tenantId}.${fix.deviceId}`, fix);
  return [...latest.values()].map((fix) => ({ ...fix, inside: {}, tags: [] }));
}

export async function storeBatch(db: pg.Pool, contents: { fixes?: readonly Fix[]; events?: readonly DerivedEvent[] }): Promise<GroupOutcome> {
  const claim = await new PgPartitionStore(db).claim(1, 0, 'test-writer');
  const store = new PgBatchStore(db);
  const outcome = await store.writeBatches([{
    hold: claim, lastSeq: claim.committedSeq, publishedSeq: claim.publishedSeq, fixes: contents.fixes ?? [], events: contents.events ?? [],
  }]);
  await store.refreshDevices(latestPerDevice(contents.fixes ?? []));
  return outcome;
}

/** The unpartitioned ingest consumer of the partition's current owner (named by its epoch). */
export async function ingestConsumerInfo(world: TestEnv): Promise<ConsumerInfo> {
  const epoch = Number((await world.db.query('SELECT epoch FROM ingest_partitions WHERE partitions = 1')).rows[0]?.epoch);
  return world.jsm.consumers.info(world.topology.telemetryStream, partitionConsumer(world.topology, 0, 1, epoch));
}

/** Events committed but not yet on EVENTS: past their partition's publish watermark. */
export async function countUnpublished(db: pg.Pool): Promise<number> {
  const result = await db.query<{ n: string }>(`SELECT count(*) AS n FROM events e JOIN ingest_partitions p ON p.id = e.lane WHERE e.source_seq > p.published_seq`);
  return Number(result.rows[0]?.n);
}
