import type pg from 'pg';
import { deviceReads } from './device-reads.js';
import { eventLog } from './event-log.js';
import { geofenceStore } from './geofence-store.js';
import { keyStore } from './key-store.js';
import { tenantStore } from './tenant-store.js';
import { visitReports } from './visit-reports.js';
import { webhookEndpoints } from './webhook-endpoints.js';
import type { ApiStore } from '../core/store-ports.js';

/** The API's store interfaces, each on the same pool. */
export function apiStore(pool: pg.Pool): ApiStore {
  return { devices: deviceReads(pool), events: eventLog(pool), reports: visitReports(pool), geofences: geofenceStore(pool), keys: keyStore(pool), webhooks: webhookEndpoints(pool), tenants: tenantStore(pool) };
}
