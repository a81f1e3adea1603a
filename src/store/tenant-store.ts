import type pg from 'pg';
import type { TenantStore } from '../core/store-ports.js';

export function tenantStore(pool: pg.Pool): TenantStore {
  return {
    async rules(tenantId) {
      const result = await pool.query<{ rules: unknown }>('SELECT rules FROM tenants WHERE id = $1', [tenantId]);
      return result.rows[0]?.rules ?? {};
    },
    async create(tenantId, rules) {
      await pool.query(
        `INSERT INTO tenants (id, rules) VALUES ($1, $2::jsonb)
         ON CONFLICT (id) DO UPDATE SET rules = CASE WHEN $3 THEN excluded.rules ELSE tenants.rules END`,
        [tenantId, JSON.stringify(rules ?? {}), rules !== undefined],
      );
    },
  };
}
