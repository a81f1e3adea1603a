import type pg from 'pg';
import { deviceReads, type DeviceReads } from './device-reads.js';
import { eventLog, type EventLog } from './event-log.js';
import { geofenceStore, type GeofenceStore } from './geofence-store.js';
import { keyStore, type KeyStore } from './key-store.js';
import { webhookEndpoints, type WebhookEndpoints } from './webhook-endpoints.js';

/** Everything the HTTP API reads and writes in PostgreSQL, one narrow interface per table group. */
export interface ApiStore {
  readonly devices: DeviceReads;
  readonly events: EventLog;
  readonly geofences: GeofenceStore;
  readonly keys: KeyStore;
  readonly webhooks: WebhookEndpoints;
}

export function apiStore(pool: pg.Pool): ApiStore {
  return { devices: deviceReads(pool), events: eventLog(pool), geofences: geofenceStore(pool), keys: keyStore(pool), webhooks: webhookEndpoints(pool) };
}
