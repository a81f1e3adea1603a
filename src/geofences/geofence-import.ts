import type { GeometryThread } from './geometry-thread.js';
import type { GeofenceLimits } from '../core/geofence-limits.js';
import { validateCollection } from './geofence-validation.js';
import type { GeofenceStore } from '../core/store-ports.js';

export interface ImportResult {
  readonly imported: number;
  /** The ids written, for the change notice. */
  readonly ids: string[];
  /** Why nothing was imported: sentences naming the features (at most ten and a count), or the limit. */
  readonly errors: string[];
  /** `invalid_geofence` (a feature is wrong) or `quota_exceeded` (the tenant is full); null when imported. */
  readonly code: 'invalid_geofence' | 'quota_exceeded' | null;
}

export interface ImportOptions {
  readonly limits: GeofenceLimits;
  /** Where validation runs; null runs it on the caller's thread (one-shot commands, tests). */
  readonly geometry: GeometryThread | null;
}

/**
 * Validates every feature of a FeatureCollection and, when all are valid and the tenant's
 * limits allow, upserts them in one transaction (all or nothing, so a typo in feature 812 does
 * not leave half an import).
 */
export async function importGeofences(store: Pick<GeofenceStore, 'upsert'>, tenantId: string, collection: unknown, options: ImportOptions): Promise<ImportResult> {
  const { maxVertices } = options.limits;
  const validation = options.geometry
    ? await options.geometry.validate(tenantId, collection, maxVertices)
    : validateCollection(tenantId, collection, maxVertices);
  if (validation.errors.length > 0) return { imported: 0, ids: [], errors: validation.errors, code: 'invalid_geofence' };
  const { quotaError } = await store.upsert(tenantId, validation.rows, options.limits);
  if (quotaError !== null) return { imported: 0, ids: [], errors: [quotaError], code: 'quota_exceeded' };
  return { imported: validation.rows.length, ids: validation.rows.map((r) => r.id), errors: [], code: null };
}
