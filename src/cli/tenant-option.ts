import { isValidToken } from '../core/token.js';
import { UsageError } from '../errors.js';

/** The `--tenant <id>` a command cannot run without, checked as subjects check tenant tokens. */
export function requiredTenant(tenant: string | undefined): string {
  if (tenant === undefined || !isValidToken(tenant)) throw new UsageError('--tenant <id> is required: 1-64 characters of [A-Za-z0-9_-]');
  return tenant;
}
