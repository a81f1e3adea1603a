import { hashKey } from '../store/key-store.js';
import type { KeyStore } from '../core/store-ports.js';

/** The tenant a key belongs to, or null for an unknown or revoked key (every request reads the table: a revocation holds at once). */
export function tenantForKey(keys: KeyStore, key: string): Promise<string | null> {
  return keys.tenantOf(hashKey(key));
}

/** The key a request carries: `X-Integration-Key`, else `Authorization: Bearer`. */
export function keyFromHeaders(headers: Record<string, string | string[] | undefined>): string | null {
  const direct = headers['x-integration-key'];
  if (typeof direct === 'string' && direct !== '') return direct;
  const authorization = headers.authorization;
  if (typeof authorization === 'string') {
    const match = /^Bearer\s+(\S+)$/i.exec(authorization);
    if (match) return match[1] as string;
  }
  return null;
}
