import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { UsageError } from '../errors.js';
import { withPool } from '../store/database.js';
import { createApiKey, keyStore } from '../store/key-store.js';
import { requiredTenant } from './tenant-option.js';

const USAGE = 'usage: fencewire key create|list --tenant <id> | fencewire key revoke <key-id> --tenant <id>';

/**
 * `fencewire key create --tenant <id>`: prints a new integration key, once; only its hash is kept.
 * `key list` prints the tenant's key ids with their dates; `key revoke <key-id>` ends one at once.
 */
export async function keyCommand(config: Config, log: Logger, args: string[], tenantOption: string | undefined): Promise<void> {
  const [action, keyId] = args;
  if (action !== 'create' && action !== 'list' && action !== 'revoke') throw new UsageError(USAGE);
  if (action === 'revoke' && keyId === undefined) throw new UsageError(USAGE);
  const tenant = requiredTenant(tenantOption);
  await withPool(config.databaseUrl, log, async (pool) => {
    const keys = keyStore(pool);
    if (action === 'create') {
      const { id, key } = await createApiKey(keys, tenant);
      console.log(`${key}\n(key ${id} for tenant ${tenant}; it is not stored and cannot be shown again)`);
    } else if (action === 'list') {
      for (const k of await keys.list(tenant)) {
        console.log(`${k.id}\tcreated ${k.created_at.toISOString()}\t${k.revoked_at === null ? 'active' : `revoked ${k.revoked_at.toISOString()}`}`);
      }
    } else {
      if (!(await keys.revoke(tenant, keyId as string))) throw new UsageError(`tenant ${tenant} has no key "${keyId}"; see fencewire key list --tenant ${tenant}`);
      console.log(`key ${keyId} of tenant ${tenant} is revoked`);
    }
  });
}
