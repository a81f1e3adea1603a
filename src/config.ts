import { availableParallelism } from 'node:os';
import { DEFAULT_STREAM_SETTINGS, type StreamSettings } from './bus/streams.js';
import { ConfigError } from './errors.js';
import type { TenantQuotas } from './core/tenant-quotas.js';
import type { WebhookSettings } from './webhooks/webhook-worker.js';
import { DEFAULT_LATE_FIX_HISTORY } from './pipeline/rule-engine.js';

/**
 * fencewire's configuration: environment variables, then defaults. Validated once at start and
 * frozen; a bad value stops start-up with a message naming the variable. Every key and its unit
 * is listed in `docs/configuration.md`.
 */
export interface Config {
  readonly natsUrl: string;
  /** fencewire's own NATS user and password, where the server has authorization (docs/nats-server.conf); null connects without. */
  readonly natsUser: string | null;
  readonly natsPassword: string | null;
  readonly databaseUrl: string;
  /** A request to the HTTP API (headers and body) must have arrived within this many ms. */
  readonly httpRequestTimeoutMs: number;
  /** BACKTEST_MAX_POSITIONS: the most stored positions one geofence backtest reads. */
  readonly backtestMaxPositions: number;
  /** Bytes the streams may hold; how long they keep messages stays as DEFAULT_STREAM_SETTINGS says. */
  readonly streams: StreamSettings;
  /** How long `serve` and `migrate` wait for NATS and PostgreSQL to answer at start (ms), trying again with back-off. */
  readonly startupWaitMs: number;
  readonly httpPort: number;
  readonly httpHost: string;
  /** The live map's raster tiles, `https://.../{z}/{x}/{y}.png`; null draws a plain background. */
  readonly mapTileUrl: string | null;
  readonly logLevel: string;
  /**
   * Prefix for every stream, consumer and subject fencewire touches; empty in production. Tests
   * set it so that each run has streams of its own beside the real ones.
   */
  readonly namespace: string;
  readonly ingest: {
    /** Fixes a batch may gather while the previous commit runs before intake waits for it. */
    readonly batchSize: number;
    /** Unacknowledged messages a processor may hold, shared by its partitions: the back-pressure bound on memory. */
    readonly maxInFlight: number;
    /** JetStream redelivers a message that is not acknowledged within this many ms. */
    readonly ackWaitMs: number;
    /** A partition lease not renewed for this many ms expires and passes to another processor. */
    readonly leaseMs: number;
    /** How often (ms) each partition's changed device states are checkpointed. */
    readonly checkpointMs: number;
    /** Fixes of history each device keeps in memory, so that a late fix among them is corrected (src/core/late-fixes.ts). */
    readonly lateFixHistory: number;
    /** Ingest processes `serve` runs (each leases its share of the partitions); 1 runs ingest in-process. */
    readonly workers: number;
    /**
     * Tests only: after this many rebalancing rounds, every further round hangs (as one did,
     * stuck listing the lease bucket), to prove the others go on without it. Null in use.
     */
    readonly testHangRoundsAfter: number | null;
  };
  /** What one tenant may keep or do: limits against a tenant, hostile or careless, that would crowd out the others. */
  readonly quotas: TenantQuotas;
  readonly storage: {
    /** Days of positions kept. */
    readonly retentionDays: number;
    /** Days of published events kept in the events table (the bus keeps its own). */
    readonly eventsRetentionDays: number;
    /** Days a finished webhook delivery (succeeded or failed) and its attempts are kept. */
    readonly deliveriesRetentionDays: number;
    /** Days of inbound events kept in the audit log. */
    readonly inboundRetentionDays: number;
    readonly partitionAheadDays: number;
    /** TimescaleDB only: chunks older than this are compressed. */
    readonly compressAfterDays: number;
    /** TimescaleDB only: the time a chunk of positions covers (docs/configuration.md sizes it). */
    readonly chunkIntervalHours: number;
  };
  readonly webhooks: WebhookSettings;
  readonly shutdownTimeoutMs: number;
}

type Env = Record<string, string | undefined>;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const NAMESPACE_PATTERN = /^[a-z][a-z0-9_]{0,30}$/;

function text(env: Env, key: string, fallback: string): string {
  const value = env[key];
  return value === undefined || value === '' ? fallback : value;
}

function integer(env: Env, key: string, fallback: number, min: number, max: number): number {
  const raw = env[key];
  if (raw === undefined || raw === '') return fallback;
  if (!/^-?\d+$/.test(raw)) throw new ConfigError(key, `"${raw}" is not a whole number`);
  const value = Number(raw);
  if (value < min || value > max) throw new ConfigError(key, `${value} is out of range [${min}, ${max}]`);
  return value;
}

function boolean(env: Env, key: string, fallback: boolean): boolean {
  const raw = env[key];
  if (raw === undefined || raw === '') return fallback;
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  throw new ConfigError(key, `"${raw}" is not a boolean (use true or false)`);
}

/** A URL as it may be shown: its password, if any, replaced by `***`. */
export function redactedUrl(value: string): string {
  return value.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*:)[^@/]*@/i, '$1***@');
}

function url(env: Env, key: string, fallback: string, protocols: string[]): string {
  const value = text(env, key, fallback);
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    throw new ConfigError(key, `"${redactedUrl(value)}" is not a URL`);
  }
  if (!protocols.includes(parsed.protocol)) {
    throw new ConfigError(key, `"${redactedUrl(value)}" must use ${protocols.join(' or ')}`);
  }
  return value;
}

function oneOf(env: Env, key: string, fallback: string, allowed: string[]): string {
  const value = text(env, key, fallback);
  if (!allowed.includes(value)) throw new ConfigError(key, `"${value}" is not one of ${allowed.join(', ')}`);
  return value;
}

function namespace(env: Env): string {
  const value = text(env, 'FENCEWIRE_NAMESPACE', '');
  if (value !== '' && !NAMESPACE_PATTERN.test(value)) {
    throw new ConfigError('FENCEWIRE_NAMESPACE', `"${value}" must match ${NAMESPACE_PATTERN.source}`);
  }
  return value;
}

function tileUrl(env: Env): string | null {
  const value = env.MAP_TILE_URL;
  if (value === undefined || value === '') return null;
  if (!/^https?:\/\//.test(value) || !['{z}', '{x}', '{y}'].every((part) => value.includes(part))) {
    throw new ConfigError('MAP_TILE_URL', `"${value}" must be an http(s) URL with {z}, {x} and {y}, such as https://tile.openstreetmap.org/{z}/{x}/{y}.png`);
  }
  return value;
}

/**
 * Ingest processes by default: a quarter of the cores, at least one. Measured on 2 cores with
 * PostgreSQL and NATS beside it, one process drained faster than two (18 600 against 16 700
 * fixes/s) and kept the tail flatter (p50 11 against 32 ms at 5 000/s), and two made the box
 * refuse publishes at 10 000/s: each process needs PostgreSQL and NATS to keep up with it, and
 * the database does the larger part of the work of a fix.
 */
export function defaultIngestWorkers(cores: number): number {
  return Math.max(1, Math.floor(cores / 4));
}

/** Reads and validates the configuration; throws ConfigError naming the first bad key. */
export function loadConfig(env: Env = process.env): Config {
  const config: Config = {
    natsUrl: url(env, 'NATS_URL', 'nats://127.0.0.1:4222', ['nats:', 'tls:']),
    natsUser: env.NATS_USER || null,
    natsPassword: env.NATS_PASSWORD || null,
    databaseUrl: url(env, 'DATABASE_URL', 'postgres://127.0.0.1:5432/fencewire', ['postgres:', 'postgresql:']),
    startupWaitMs: integer(env, 'STARTUP_WAIT_MS', 60_000, 0, 3_600_000),
    httpRequestTimeoutMs: integer(env, 'HTTP_REQUEST_TIMEOUT_MS', 30_000, 1000, 600_000),
    backtestMaxPositions: integer(env, 'BACKTEST_MAX_POSITIONS', 5_000_000, 1, 50_000_000),
    streams: {
      ...DEFAULT_STREAM_SETTINGS,
      telemetryMaxBytes: integer(env, 'TELEMETRY_STREAM_MAX_BYTES', DEFAULT_STREAM_SETTINGS.telemetryMaxBytes, 1024 * 1024, Number.MAX_SAFE_INTEGER),
      eventsMaxBytes: integer(env, 'EVENTS_STREAM_MAX_BYTES', DEFAULT_STREAM_SETTINGS.eventsMaxBytes, 1024 * 1024, Number.MAX_SAFE_INTEGER),
      dlqMaxBytes: integer(env, 'DLQ_STREAM_MAX_BYTES', DEFAULT_STREAM_SETTINGS.dlqMaxBytes, 1024 * 1024, Number.MAX_SAFE_INTEGER),
      eventsDuplicateWindowMs: integer(env, 'EVENTS_DUPLICATE_WINDOW_MS', DEFAULT_STREAM_SETTINGS.eventsDuplicateWindowMs, 1000, 86_400_000),
    },
    httpPort: integer(env, 'HTTP_PORT', 8080, 0, 65535),
    httpHost: text(env, 'HTTP_HOST', '127.0.0.1'),
    mapTileUrl: tileUrl(env),
    logLevel: oneOf(env, 'LOG_LEVEL', 'info', LOG_LEVELS),
    namespace: namespace(env),
    ingest: {
      batchSize: integer(env, 'INGEST_BATCH_SIZE', 2000, 1, 50_000),
      maxInFlight: integer(env, 'INGEST_MAX_IN_FLIGHT', 20_000, 1, 1_000_000),
      ackWaitMs: integer(env, 'INGEST_ACK_WAIT_MS', 30_000, 1000, 3_600_000),
      leaseMs: integer(env, 'INGEST_LEASE_MS', 5000, 500, 300_000),
      checkpointMs: integer(env, 'INGEST_CHECKPOINT_MS', 5000, 100, 3_600_000),
      lateFixHistory: integer(env, 'LATE_FIX_HISTORY', DEFAULT_LATE_FIX_HISTORY, 0, 10_000),
      workers: integer(env, 'INGEST_WORKERS', defaultIngestWorkers(availableParallelism()), 1, 64),
      testHangRoundsAfter: env.FENCEWIRE_TEST_HANG_ROUNDS_AFTER ? integer(env, 'FENCEWIRE_TEST_HANG_ROUNDS_AFTER', 0, 0, 1_000_000) : null,
    },
    quotas: {
      geofences: {
        maxVertices: integer(env, 'GEOFENCE_MAX_VERTICES', 100_000, 4, 10_000_000),
        maxPerTenant: integer(env, 'TENANT_MAX_GEOFENCES', 20_000, 1, 10_000_000),
        maxTenantVertices: integer(env, 'TENANT_MAX_GEOFENCE_VERTICES', 2_000_000, 4, 1_000_000_000),
      },
      webhookEndpoints: integer(env, 'TENANT_MAX_WEBHOOKS', 100, 1, 1_000_000),
      inboundEventsPerMinute: integer(env, 'TENANT_INBOUND_EVENTS_PER_MINUTE', 600, 1, 10_000_000),
      inboundBytesPerMinute: integer(env, 'TENANT_INBOUND_BYTES_PER_MINUTE', 8 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
      inboundMaxBytes: integer(env, 'INBOUND_MAX_BYTES', 64 * 1024, 1024, 1024 * 1024),
      // NATS's default max_payload is 1 MiB; the headers of an event take well under 4 KiB.
      eventMaxBytes: integer(env, 'EVENT_MAX_BYTES', 256 * 1024, 4096, 1024 * 1024 - 4096),
      replaysPerDeliveryPerHour: integer(env, 'REPLAYS_PER_DELIVERY_PER_HOUR', 10, 1, 100_000),
    },
    storage: {
      retentionDays: integer(env, 'RETENTION_DAYS', 90, 1, 36_500),
      eventsRetentionDays: integer(env, 'EVENTS_RETENTION_DAYS', 90, 1, 36_500),
      deliveriesRetentionDays: integer(env, 'DELIVERIES_RETENTION_DAYS', 30, 1, 36_500),
      inboundRetentionDays: integer(env, 'INBOUND_RETENTION_DAYS', 30, 1, 36_500),
      partitionAheadDays: integer(env, 'PARTITION_AHEAD_DAYS', 7, 1, 365),
      compressAfterDays: integer(env, 'COMPRESS_AFTER_DAYS', 7, 1, 36_500),
      chunkIntervalHours: integer(env, 'CHUNK_INTERVAL_HOURS', 24, 1, 8760),
    },
    webhooks: {
      allowPrivate: boolean(env, 'WEBHOOK_ALLOW_PRIVATE', false),
      timeoutMs: integer(env, 'WEBHOOK_TIMEOUT_MS', 10_000, 100, 120_000),
      retry: {
        maxAttempts: integer(env, 'WEBHOOK_MAX_ATTEMPTS', 4, 1, 50),
        baseDelayMs: integer(env, 'WEBHOOK_RETRY_BASE_MS', 60_000, 10, 86_400_000),
        factor: integer(env, 'WEBHOOK_RETRY_FACTOR', 5, 1, 100),
        maxDelayMs: integer(env, 'WEBHOOK_RETRY_MAX_DELAY_MS', 6 * 3_600_000, 10, 7 * 86_400_000),
      },
      endpointConcurrency: integer(env, 'WEBHOOK_ENDPOINT_CONCURRENCY', 8, 1, 1000),
      pollMs: integer(env, 'WEBHOOK_POLL_MS', 250, 10, 60_000),
    },
    shutdownTimeoutMs: integer(env, 'SHUTDOWN_TIMEOUT_MS', 9000, 100, 600_000),
  };
  return deepFreeze(config);
}

function deepFreeze<T extends object>(value: T): T {
  for (const child of Object.values(value)) {
    if (child !== null && typeof child === 'object') deepFreeze(child as object);
  }
  return Object.freeze(value);
}
