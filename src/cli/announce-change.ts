import { connect } from '@nats-io/transport-node';
import { topology } from '../bus/topology.js';
import type { Config } from '../config.js';
import { notifyGeofencesChanged } from '../geofences/geofence-catalog.js';

/** From a one-shot command: tells running processors to reload a tenant's rules and geofences (those named, or all). */
export async function announceTenantChange(config: Config, tenantId: string, geofenceIds: readonly string[] | null = null): Promise<void> {
  const nc = await connect({ servers: config.natsUrl, name: 'fencewire-cli' });
  try {
    await notifyGeofencesChanged(nc, topology(config.namespace), tenantId, geofenceIds);
  } finally {
    await nc.close();
  }
}
