import { createHash, randomBytes } from 'node:crypto';
import type pg from 'pg';

/** Keys are stored only as this hash; the key itself is shown once, at creation. */
export function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** Creates a key for a tenant and returns it: `fwk_` and 32 random bytes, base64url. */
export async function createApiKey(pool: pg.Pool, tenantId: string): Promise<{ id: string; key: string }> {
  const key = `fwk_${randomBytes(32).toString('base64url')}`;
  const id = `key_${randomBytes(8).toString('hex')}`;
  await pool.query('INSERT INTO api_keys (id, tenant_id, key_hash) VALUES ($1, $2, $3)', [id, tenantId, hashKey(key)]);
  return { id, key };
}

export interface KeyRecord {
  readonly id: string;
  readonly tenant_id: string;
  readonly created_at: Date;
  readonly revoked_at: Date | null;
}

/** A tenant's keys (ids and dates; the keys themselves are not stored), oldest first. */
export async function listApiKeys(pool: pg.Pool, tenantId: string): Promise<KeyRecord[]> {
  const result = await pool.query<KeyRecord>('SELECT id, tenant_id, created_at, revoked_at FROM api_keys WHERE tenant_id = $1 ORDER BY created_at, id', [tenantId]);
  return result.rows;
}

/** Revokes a key of a tenant at once (every process reads the table on each request); false when there is no such key. */
export async function revokeApiKey(pool: pg.Pool, tenantId: string, id: string): Promise<boolean> {
  const result = await pool.query('UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE tenant_id = $1 AND id = $2', [tenantId, id]);
  return result.rowCount === 1;
}

/** The tenant a key belongs to, or null for an unknown or revoked key. */
export async function tenantForKey(pool: pg.Pool, key: string): Promise<string | null> {
  const result = await pool.query<{ tenant_id: string }>(
    'SELECT tenant_id FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL', [hashKey(key)],
  );
  return result.rows[0]?.tenant_id ?? null;
}

/** Of these key hashes, the ones still valid (not revoked, not deleted). */
export async function validKeyHashes(pool: pg.Pool, hashes: readonly string[]): Promise<Set<string>> {
  if (hashes.length === 0) return new Set();
  const result = await pool.query<{ key_hash: string }>('SELECT key_hash FROM api_keys WHERE key_hash = ANY($1::text[]) AND revoked_at IS NULL', [hashes]);
  return new Set(result.rows.map((row) => row.key_hash));
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
