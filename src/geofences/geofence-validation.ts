import { createHash } from 'node:crypto';
import type { GeofenceRow } from '../core/geofence-limits.js';
import { geofenceFromFeature, isGeofenceError, type Geofence } from '../core/geometry/geofence.js';

/** What validating a collection found: the rows to store, or why not. */
export interface ValidationResult {
  readonly rows: GeofenceRow[];
  /** At most MAX_LISTED_ERRORS sentences, each naming its feature, then a count of the rest. */
  readonly errors: string[];
}

/** Errors listed in one answer: a 1 MB import of bad features must not answer 30 MB. */
export const MAX_LISTED_ERRORS = 10;

/** An id for a feature that has none: derived from its content, so a re-import updates it. */
export function generatedGeofenceId(feature: unknown): string {
  return `gf_${createHash('sha256').update(JSON.stringify(feature)).digest('hex').slice(0, 16)}`;
}

/** Positions in a geometry's rings (a Point counts one); nested arrays of numbers are counted at their leaves' parents. */
export function countVertices(geometry: unknown): number {
  const coordinates = (geometry as { coordinates?: unknown } | null)?.coordinates;
  let count = 0;
  const stack: unknown[] = [coordinates];
  while (stack.length > 0) {
    const value = stack.pop();
    if (!Array.isArray(value)) continue;
    if (value.length > 0 && typeof value[0] === 'number') count++;
    else for (const child of value) stack.push(child);
  }
  return count;
}

/** Keeps the first MAX_LISTED_ERRORS, and says how many more there were. */
export function cappedErrors(errors: string[], noun = 'errors'): string[] {
  if (errors.length <= MAX_LISTED_ERRORS) return errors;
  return [...errors.slice(0, MAX_LISTED_ERRORS), `and ${errors.length - MAX_LISTED_ERRORS} more ${noun}`];
}

/**
 * Validates every feature of a FeatureCollection (GeoJSON, ranges, crossing edges, the vertex
 * limit per geofence, ids unique) and turns the valid ones into rows. Pure and CPU-bound: run
 * it off the event loop (GeometryThread) for anything a tenant sends.
 */
export function validateCollection(tenantId: string, collection: unknown, maxVertices: number): ValidationResult {
  const features = (collection as { type?: unknown; features?: unknown } | null)?.features;
  if ((collection as { type?: unknown } | null)?.type !== 'FeatureCollection' || !Array.isArray(features)) {
    return { rows: [], errors: ['the body must be a GeoJSON FeatureCollection'] };
  }
  const errors: string[] = [];
  const rows: GeofenceRow[] = [];
  const seen = new Set<string>();
  features.forEach((feature: unknown, i) => {
    const vertices = countVertices((feature as { geometry?: unknown } | null)?.geometry);
    if (vertices > maxVertices) {
      errors.push(`features[${i}]: the geometry has ${vertices} positions, more than the limit of ${maxVertices} per geofence (GEOFENCE_MAX_VERTICES); simplify it or split it`);
      return;
    }
    const geofence = geofenceFromFeature(tenantId, feature, generatedGeofenceId(feature), true);
    if (isGeofenceError(geofence)) {
      errors.push(`features[${i}]: ${geofence.message}`);
      return;
    }
    if (seen.has(geofence.id)) errors.push(`features[${i}]: id "${geofence.id}" appears twice`);
    seen.add(geofence.id);
    const f = feature as { properties?: Record<string, unknown> | null };
    rows.push({ id: geofence.id, name: geofence.name, feature: { ...f, properties: { ...(f.properties ?? {}), id: geofence.id } }, vertices });
  });
  return { rows, errors: cappedErrors(errors, 'invalid features') };
}

/** Stored geofences parsed and prepared, and the ids of those that no longer parse, with why. */
export function prepareStored(tenantId: string, rows: readonly { id: string; feature: unknown }[]): { geofences: Geofence[]; invalid: { id: string; message: string }[] } {
  const geofences: Geofence[] = [];
  const invalid: { id: string; message: string }[] = [];
  for (const row of rows) {
    const geofence = geofenceFromFeature(tenantId, row.feature, row.id);
    if (isGeofenceError(geofence)) invalid.push({ id: row.id, message: geofence.message });
    else geofences.push(geofence);
  }
  return { geofences, invalid };
}
