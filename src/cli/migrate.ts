import { jetstreamManager } from '@nats-io/jetstream';
import { connectNats } from '../bus/connection.js';
import type { Logger } from 'pino';
import { ensureStreams, ensureWebhookConsumer } from '../bus/streams.js';
import { topology } from '../bus/topology.js';
import type { Config } from '../config.js';
import { ensureDatabase, waitForDatabaseServer, withPool } from '../store/database.js';
import { convertPositionsToHypertable, migrate } from '../store/migrate.js';
import { applyStoragePolicy } from '../store/storage-policies.js';

/**
 * `fencewire migrate`: creates the database if missing, applies the schema migrations (and
 * converts positions to a hypertable once TimescaleDB has been added), the storage policy, and creates the NATS streams and the webhook consumer (each ingest partition's
 * consumer is made by the processor that takes the partition). Safe to run again.
 */
export async function migrateCommand(config: Config, log: Logger): Promise<void> {
  await waitForDatabaseServer(config.databaseUrl, log, config.startupWaitMs);
  const createdDatabase = await ensureDatabase(config.databaseUrl);
  await withPool(config.databaseUrl, log, async (pool) => {
    const applied = await migrate(pool);
    const converted = await convertPositionsToHypertable(pool, config.storage.chunkIntervalHours);
    if (converted !== null) log.info({ rows: converted }, 'TimescaleDB is now available: positions converted from native partitions to a hypertable');
    const policy = await applyStoragePolicy(pool, config.storage);
    log.info({ createdDatabase, applied, storage: policy.mode, storageChanges: policy.created }, 'database ready');
  });
  const nc = await connectNats(config, log, 'fencewire-migrate');
  try {
    const jsm = await jetstreamManager(nc);
    const t = topology(config.namespace);
    const streams = await ensureStreams(jsm, t, config.streams);
    await ensureWebhookConsumer(jsm, t);
    log.info({ createdStreams: streams }, 'NATS streams ready');
  } finally {
    await nc.close();
  }
}
