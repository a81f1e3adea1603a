import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { resolveRules } from '../core/rule-config.js';
import { isValidToken } from '../core/token.js';
import { UsageError } from '../errors.js';
import { announceTenantChange } from './announce-change.js';
import { withPool } from '../store/database.js';
import { tenantStore } from '../store/tenant-store.js';

/**
 * `fencewire tenant create <id> [--rules JSON]`: creates a tenant, or replaces its rule
 * overrides (keys and units in docs/rules.md), and tells running processors.
 */
export async function tenantCommand(config: Config, log: Logger, args: string[], rulesJson: string | undefined): Promise<void> {
  const [action, tenantId] = args;
  if (action !== 'create' || tenantId === undefined) throw new UsageError("usage: fencewire tenant create <id> [--rules '{\"idleMinDurationS\": 120}']");
  if (!isValidToken(tenantId)) throw new UsageError(`tenant id "${tenantId}" must be 1-64 characters of [A-Za-z0-9_-]`);
  let rules: unknown = {};
  if (rulesJson !== undefined) {
    try {
      rules = JSON.parse(rulesJson);
    } catch (err) {
      throw new UsageError(`--rules is not JSON: ${(err as Error).message}`);
    }
    const { problems } = resolveRules(rules);
    if (problems.length > 0 || typeof rules !== 'object' || rules === null || Array.isArray(rules)) {
      throw new UsageError(`--rules must be an object of rule settings: ${problems.join('; ') || 'not an object'}`);
    }
  }
  await withPool(config.databaseUrl, log, (pool) => tenantStore(pool).create(tenantId, rulesJson === undefined ? undefined : rules));
  await announceTenantChange(config, log, tenantId);
  console.log(`tenant ${tenantId} ready${rulesJson === undefined ? '' : ' with its rules set'}`);
}
