import { createHash, randomBytes } from 'node:crypto';
import type { KeyStore } from '../store/key-store.js';

/** Keys are stored only as this hash; the key itself is shown once, at creation. */
export function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** Creates a key for a tenant and returns it: `fwk_` and 32 random bytes, base64url. */
export async function createApiKey(keys: KeyStore, tenantId: string): Promise<{ id: string; key: string }> {
  const key = `fwk_${randomBytes(32).toString('base64url')}`;
  const id = `key_${randomBytes(8).toString('hex')}`;
  await keys.insert(id, tenantId, hashKey(key));
  return { id, key };
}

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
