import type { Logger } from 'pino';
import { prepareStreams } from '../bus/one-shot.js';
import type { Config } from '../config.js';
import { ensureDatabase, waitForDatabaseServer, withPool } from '../store/database.js';
import { convertPositionsToHypertable, migrate } from '../store/migrate.js';
import { applyStoragePolicy } from '../store/storage-policies.js';

/**
 * `fencewire migrate`: creates the database if missing, applies the schema migrations (and
 * converts positions to a hypertable once TimescaleDB has been added), the storage policy, and
 * creates the NATS streams and the webhook consumer. Safe to run again.
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
  log.info({ createdStreams: await prepareStreams(config, log) }, 'NATS streams ready');
}
