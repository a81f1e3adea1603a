import type pg from 'pg';
import type { GeofenceLimits, GeofenceRow } from '../core/geofence-limits.js';
import { inLockedTransaction } from './database.js';
import { countedRows } from './list-rows.js';
import type { StoredGeofence, GeofenceStore } from '../core/store-ports.js';

export function geofenceStore(pool: pg.Pool): GeofenceStore {
  return {
    upsert: (tenantId, rows, limits) => upsertGeofences(pool, tenantId, rows, limits),
    stored: (tenantId, ids = null) => storedGeofences(pool, tenantId, ids),
    async exists(tenantId, id) {
      const result = await pool.query('SELECT 1 FROM geofences WHERE tenant_id = $1 AND id = $2', [tenantId, id]);
      return result.rowCount === 1;
    },
    async feature(tenantId, id) {
      const result = await pool.query<{ feature: unknown }>('SELECT feature FROM geofences WHERE tenant_id = $1 AND id = $2', [tenantId, id]);
      return result.rows[0]?.feature ?? null;
    },
    features: (tenantId, page) => countedRows(pool, { select: 'feature', from: 'geofences', where: 'tenant_id = $1', orderBy: 'id' }, [tenantId], page),
    async remove(tenantId, id) {
      const result = await pool.query('DELETE FROM geofences WHERE tenant_id = $1 AND id = $2', [tenantId, id]);
      return result.rowCount === 1;
    },
    async signatures(tenantId) {
      const rows = await pool.query<{ tenant_id: string; signature: string }>(
        `SELECT coalesce(t.id, g.tenant_id) AS tenant_id,
                concat_ws('/', md5(t.rules::text), g.n, g.latest) AS signature
           FROM (SELECT * FROM tenants WHERE $1::text IS NULL OR id = $1) t
           FULL JOIN (SELECT tenant_id, count(*) AS n, max(updated_at) AS latest FROM geofences
                       WHERE $1::text IS NULL OR tenant_id = $1 GROUP BY tenant_id) g
             ON g.tenant_id = t.id`,
        [tenantId],
      );
      return new Map(rows.rows.map((r) => [r.tenant_id, r.signature]));
    },
  };
}

/** Why a tenant's geofences would exceed a limit, or null when they fit. */
function quotaError(count: number, vertices: number, limits: GeofenceLimits): string | null {
  if (count > limits.maxPerTenant) return `the tenant would have ${count} geofences, more than its limit of ${limits.maxPerTenant} (TENANT_MAX_GEOFENCES)`;
  if (vertices > limits.maxTenantVertices) return `the tenant's geofences would have ${vertices} positions in all, more than its limit of ${limits.maxTenantVertices} (TENANT_MAX_GEOFENCE_VERTICES)`;
  return null;
}

/**
 * Creates or replaces geofences in one transaction, all or nothing, unless the tenant's count or
 * total positions would exceed its limits. The tenant's rows are locked for the check (an
 * advisory lock per tenant), so two processors importing at once cannot both squeeze in.
 */
async function upsertGeofences(pool: pg.Pool, tenantId: string, rows: readonly GeofenceRow[], limits: GeofenceLimits): Promise<{ quotaError: string | null }> {
  return inLockedTransaction(pool, `geofences:${tenantId}`, async (client) => {
    const others = await client.query<{ n: number; vertices: string }>(
      'SELECT count(*)::int AS n, coalesce(sum(vertices), 0)::bigint AS vertices FROM geofences WHERE tenant_id = $1 AND NOT (id = ANY($2))',
      [tenantId, rows.map((r) => r.id)],
    );
    const { n, vertices } = others.rows[0] as { n: number; vertices: string };
    const problem = quotaError(n + rows.length, Number(vertices) + rows.reduce((sum, r) => sum + r.vertices, 0), limits);
    if (problem !== null) return { quotaError: problem };
    await client.query(
      `INSERT INTO geofences (tenant_id, id, name, feature, vertices)
       SELECT $1, id, name, feature, vertices FROM jsonb_to_recordset($2::jsonb) AS r(id text, name text, feature jsonb, vertices integer)
       ON CONFLICT (tenant_id, id) DO UPDATE SET name = excluded.name, feature = excluded.feature, vertices = excluded.vertices, updated_at = now()`,
      [tenantId, JSON.stringify(rows)],
    );
    return { quotaError: null };
  });
}

/** A tenant's stored geofences, or only those of `ids` (the ones a change notice names). */
async function storedGeofences(pool: pg.Pool, tenantId: string, ids: readonly string[] | null = null): Promise<StoredGeofence[]> {
  const result = await pool.query<StoredGeofence>(
    'SELECT id, feature FROM geofences WHERE tenant_id = $1 AND ($2::text[] IS NULL OR id = ANY($2))', [tenantId, ids],
  );
  return result.rows;
}
