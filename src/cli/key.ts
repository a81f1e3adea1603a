import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { isValidToken } from '../decode/subject.js';
import { UsageError } from '../errors.js';
import { createApiKey } from '../http/api-keys.js';
import { createPool } from '../store/database.js';

/** `fencewire key create --tenant <id>`: prints a new integration key, once; only its hash is kept. */
export async function keyCommand(config: Config, log: Logger, args: string[], tenant: string | undefined): Promise<void> {
  if (args[0] !== 'create') throw new UsageError('usage: fencewire key create --tenant <id>');
  if (tenant === undefined || !isValidToken(tenant)) throw new UsageError('--tenant <id> is required: 1-64 characters of [A-Za-z0-9_-]');
  const pool = createPool(config.databaseUrl, log);
  try {
    const { id, key } = await createApiKey(pool, tenant);
    console.log(`${key}\n(key ${id} for tenant ${tenant}; it is not stored and cannot be shown again)`);
  } finally {
    await pool.end();
  }
}
