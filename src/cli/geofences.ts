import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { UsageError } from '../errors.js';
import { announceTenantChange } from './announce-change.js';
import { requiredTenant } from './tenant-option.js';
import { importGeofences } from '../geofences/geofence-import.js';
import { withPool } from '../store/database.js';
import { geofenceStore } from '../store/geofence-store.js';

/**
 * `fencewire geofences import <file.geojson> --tenant <id>`: loads a FeatureCollection (all or
 * nothing) and tells running processors, which pick the change up within a second.
 */
export async function geofencesCommand(config: Config, log: Logger, args: string[], tenantOption: string | undefined): Promise<void> {
  const [action, file] = args;
  if (action !== 'import' || file === undefined) throw new UsageError('usage: fencewire geofences import <file.geojson> --tenant <id>');
  const tenant = requiredTenant(tenantOption);
  let collection: unknown;
  try {
    collection = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new UsageError(`cannot read ${file} as JSON: ${(err as Error).message}`);
  }
  const result = await withPool(config.databaseUrl, log, (pool) => importGeofences(geofenceStore(pool), tenant, collection, { limits: config.quotas.geofences, geometry: null }));
  if (result.errors.length > 0) {
    throw new UsageError(`nothing imported:\n  ${result.errors.join('\n  ')}`);
  }
  await announceTenantChange(config, log, tenant, result.ids);
  console.log(`imported ${result.imported} geofences for tenant ${tenant}`);
}
