import type { Logger } from 'pino';
import { connectNats } from '../bus/connection.js';
import { topology } from '../bus/topology.js';
import type { Config } from '../config.js';
import { notifyGeofencesChanged } from '../bus/geofence-changes.js';

/** From a one-shot command: tells running processors to reload a tenant's rules and geofences (those named, or all). */
export async function announceTenantChange(config: Config, log: Logger, tenantId: string, geofenceIds: readonly string[] | null = null): Promise<void> {
  const nc = await connectNats(config, log, 'fencewire-cli');
  try {
    await notifyGeofencesChanged(nc, topology(config.namespace), tenantId, geofenceIds);
  } finally {
    await nc.close();
  }
}
