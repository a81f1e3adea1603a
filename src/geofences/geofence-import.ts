import { createHash } from 'node:crypto';
import type pg from 'pg';
import { geofenceFromFeature, isGeofenceError } from '../core/geometry/geofence.js';
import { inTransaction } from '../store/database.js';

export interface ImportResult {
  readonly imported: number;
  /** One sentence per refused feature, naming its index; nothing is imported when non-empty. */
  readonly errors: string[];
}

/** An id for a feature that has none: derived from its content, so a re-import updates it. */
export function generatedGeofenceId(feature: unknown): string {
  return `gf_${createHash('sha256').update(JSON.stringify(feature)).digest('hex').slice(0, 16)}`;
}

/**
 * Validates every feature of a FeatureCollection and, when all are valid, upserts them in one
 * transaction (all or nothing, so a typo in feature 812 does not leave half an import).
 */
export async function importGeofences(pool: pg.Pool, tenantId: string, collection: unknown): Promise<ImportResult> {
  const features = (collection as { type?: unknown; features?: unknown })?.features;
  if ((collection as { type?: unknown })?.type !== 'FeatureCollection' || !Array.isArray(features)) {
    return { imported: 0, errors: ['the file must be a GeoJSON FeatureCollection'] };
  }
  const errors: string[] = [];
  const rows: { id: string; name: string; feature: object }[] = [];
  const seen = new Set<string>();
  features.forEach((feature: unknown, i) => {
    const geofence = geofenceFromFeature(tenantId, feature, generatedGeofenceId(feature), true);
    if (isGeofenceError(geofence)) {
      errors.push(`features[${i}]: ${geofence.message}`);
      return;
    }
    if (seen.has(geofence.id)) errors.push(`features[${i}]: id "${geofence.id}" appears twice`);
    seen.add(geofence.id);
    const f = feature as { properties?: Record<string, unknown> | null };
    rows.push({ id: geofence.id, name: geofence.name, feature: { ...f, properties: { ...(f.properties ?? {}), id: geofence.id } } });
  });
  if (errors.length > 0) return { imported: 0, errors };

  await inTransaction(pool, (client) => client.query(
    `INSERT INTO geofences (tenant_id, id, name, feature)
     SELECT $1, id, name, feature FROM jsonb_to_recordset($2::jsonb) AS r(id text, name text, feature jsonb)
     ON CONFLICT (tenant_id, id) DO UPDATE SET name = excluded.name, feature = excluded.feature, updated_at = now()`,
    [tenantId, JSON.stringify(rows)],
  ));
  return { imported: rows.length, errors: [] };
}
