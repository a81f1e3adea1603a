import { createHash, randomBytes } from 'node:crypto';
import type pg from 'pg';
import type { KeyRecord, KeyStore } from '../core/store-ports.js';

export function keyStore(pool: pg.Pool): KeyStore {
  return {
    async insert(id, tenantId, keyHash) {
      await pool.query('INSERT INTO api_keys (id, tenant_id, key_hash) VALUES ($1, $2, $3)', [id, tenantId, keyHash]);
    },
    async list(tenantId) {
      const result = await pool.query<KeyRecord>('SELECT id, tenant_id, created_at, revoked_at FROM api_keys WHERE tenant_id = $1 ORDER BY created_at, id', [tenantId]);
      return result.rows;
    },
    async revoke(tenantId, id) {
      const result = await pool.query('UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE tenant_id = $1 AND id = $2', [tenantId, id]);
      return result.rowCount === 1;
    },
    async tenantOf(keyHash) {
      const result = await pool.query<{ tenant_id: string }>('SELECT tenant_id FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL', [keyHash]);
      return result.rows[0]?.tenant_id ?? null;
    },
    async valid(keyHashes) {
      if (keyHashes.length === 0) return new Set();
      const result = await pool.query<{ key_hash: string }>('SELECT key_hash FROM api_keys WHERE key_hash = ANY($1::text[]) AND revoked_at IS NULL', [keyHashes]);
      return new Set(result.rows.map((row) => row.key_hash));
    },
  };
}

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
