import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { UsageError } from '../errors.js';
import { createApiKey } from '../http/api-keys.js';
import { withPool } from '../store/database.js';
import { requiredTenant } from './tenant-option.js';

/** `fencewire key create --tenant <id>`: prints a new integration key, once; only its hash is kept. */
export async function keyCommand(config: Config, log: Logger, args: string[], tenantOption: string | undefined): Promise<void> {
  if (args[0] !== 'create') throw new UsageError('usage: fencewire key create --tenant <id>');
  const tenant = requiredTenant(tenantOption);
  const { id, key } = await withPool(config.databaseUrl, log, (pool) => createApiKey(pool, tenant));
  console.log(`${key}\n(key ${id} for tenant ${tenant}; it is not stored and cannot be shown again)`);
}
