import type pg from 'pg';

/** What fencewire reads and writes of the tenants table. */
export interface TenantStore {
  /** A tenant's stored rule overrides ({} when it has none or does not exist). */
  rules(tenantId: string): Promise<unknown>;
  /** Creates a tenant; with `rules`, replaces its rule overrides too. */
  create(tenantId: string, rules: unknown | undefined): Promise<void>;
}

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
