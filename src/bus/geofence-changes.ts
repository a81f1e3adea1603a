import type { NatsConnection } from '@nats-io/transport-node';
import type { GeofenceChange } from '../core/rule-source.js';
import type { Topology } from './topology.js';

/**
 * Tells every running processor that a tenant's geofences or rules changed. With ids, only
 * those geofences are read and prepared again; without, the whole tenant is.
 */
export function notifyGeofencesChanged(nc: NatsConnection, t: Topology, tenantId: string, geofenceIds: readonly string[] | null = null): Promise<void> {
  nc.publish(t.geofenceChanges, geofenceIds === null ? tenantId : JSON.stringify({ tenant: tenantId, geofences: geofenceIds }));
  return nc.flush();
}

/** A change notice's payload: a tenant id alone, or `{"tenant", "geofences": [ids]}`. */
export function parseGeofenceChange(payload: string): GeofenceChange | null {
  if (!payload.startsWith('{')) return payload === '' ? null : { tenantId: payload, geofenceIds: null };
  try {
    const { tenant, geofences } = JSON.parse(payload) as { tenant?: unknown; geofences?: unknown };
    if (typeof tenant !== 'string' || !Array.isArray(geofences) || !geofences.every((id) => typeof id === 'string')) return null;
    return { tenantId: tenant, geofenceIds: geofences as string[] };
  } catch {
    return null;
  }
}

/** Calls `onChange` with every change notice until the returned function is called. */
export function followGeofenceChanges(nc: NatsConnection, t: Topology, onChange: (change: GeofenceChange) => void): () => void {
  const subscription = nc.subscribe(t.geofenceChanges, {
    callback: (err, msg) => {
      const change = err ? null : parseGeofenceChange(msg.string());
      if (change !== null) onChange(change);
    },
  });
  return () => subscription.unsubscribe();
}
