import type { DevicePosition } from '../core/fix.js';
import { DeviceIndex } from '../core/geometry/device-index.js';
import { geofenceFromFeature, isGeofenceError } from '../core/geometry/geofence.js';
import type { Shape } from '../core/geometry/shape.js';
import type { GeofenceChange } from '../core/rule-source.js';

/** What the live queries read once per tenant, and a geofence's Feature for `within`. */
export interface LiveDeviceReads {
  /** Every device of a tenant at its latest position, with the geofences it is inside. */
  lastPositions(tenantId: string): Promise<DevicePosition[]>;
  /** A geofence's Feature, or null when the tenant has none by that id. */
  feature(tenantId: string, geofenceId: string): Promise<unknown>;
}

interface Loading {
  readonly index: Promise<DeviceIndex>;
  /** Announcements that came while the table was being read, applied after it. */
  readonly pending: DevicePosition[][];
}

/**
 * The API's answers to "who is where now": per tenant, a DeviceIndex read from the devices table
 * the first time the tenant asks, then kept current by the processors' announcements of the
 * positions they refresh the table with. Announcements that arrive while the table is read are
 * applied after it (an older position never replaces a newer one). After the bus connection
 * comes back, announcements may have been missed: every tenant is read again on its next query.
 * A tenant that never asks costs nothing.
 */
export class LiveDevices {
  private readonly ready = new Map<string, DeviceIndex>();
  private readonly loading = new Map<string, Loading>();
  /** Prepared shapes for `within`, by tenant and geofence; dropped when the geofence changes. */
  private readonly shapes = new Map<string, Map<string, Shape>>();

  constructor(private readonly reads: LiveDeviceReads) {}

  /** A tenant's index, read from the table on first use. */
  async of(tenantId: string): Promise<DeviceIndex> {
    const ready = this.ready.get(tenantId);
    if (ready !== undefined) return ready;
    const loading = this.loading.get(tenantId);
    if (loading !== undefined) return loading.index;
    const pending: DevicePosition[][] = [];
    const index = this.reads.lastPositions(tenantId).then((positions) => {
      const built = DeviceIndex.of(positions);
      for (const batch of pending) for (const p of batch) built.put(p);
      if (this.loading.get(tenantId)?.index === index) {
        this.loading.delete(tenantId);
        this.ready.set(tenantId, built);
      }
      return built;
    }, (err: unknown) => {
      this.loading.delete(tenantId);
      throw err;
    });
    this.loading.set(tenantId, { index, pending });
    return index;
  }

  /** A processor's announcement: kept for tenants being followed, ignored for the others. */
  positions(tenantId: string, positions: DevicePosition[]): void {
    const ready = this.ready.get(tenantId);
    if (ready !== undefined) {
      for (const p of positions) ready.put(p);
      return;
    }
    this.loading.get(tenantId)?.pending.push(positions);
  }

  /** Announcements may have been missed: every tenant is read again when it next asks. */
  gap(): void {
    this.ready.clear();
    this.loading.clear();
  }

  /** A geofence change notice: its prepared shapes are dropped. */
  geofencesChanged(change: GeofenceChange): void {
    if (change.geofenceIds === null) this.shapes.delete(change.tenantId);
    else for (const id of change.geofenceIds) this.shapes.get(change.tenantId)?.delete(id);
  }

  /** A geofence's exact shape, or null when the tenant has no such geofence. */
  async shape(tenantId: string, geofenceId: string): Promise<Shape | null> {
    const cached = this.shapes.get(tenantId)?.get(geofenceId);
    if (cached !== undefined) return cached;
    const feature = await this.reads.feature(tenantId, geofenceId);
    if (feature === null) return null;
    const geofence = geofenceFromFeature(tenantId, feature, geofenceId);
    // Stored geofences were validated on the way in; one that no longer parses covers nothing.
    if (isGeofenceError(geofence)) return null;
    let tenant = this.shapes.get(tenantId);
    if (tenant === undefined) this.shapes.set(tenantId, (tenant = new Map()));
    tenant.set(geofenceId, geofence.shape);
    return geofence.shape;
  }
}
