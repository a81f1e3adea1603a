import type { Geofence } from '../core/geometry/geofence.js';
import { PreparedPolygon } from '../core/geometry/prepared-polygon.js';
import { CircleShape, PolygonShape } from '../core/geometry/shape.js';

/** A prepared geofence as it crosses a thread boundary: data only, no closures or classes. */
export interface TransferredGeofence extends Omit<Geofence, 'shape'> {
  readonly shape:
    | { readonly kind: 'polygon'; readonly polygons: readonly object[] }
    | { readonly kind: 'circle'; readonly lon: number; readonly lat: number; readonly radiusM: number };
}

/** The geofence as data for postMessage; its prepared polygons are cloned, not prepared again. */
export function toTransfer(geofence: Geofence): TransferredGeofence {
  const { shape } = geofence;
  if (shape instanceof PolygonShape) return { ...geofence, shape: { kind: 'polygon', polygons: shape.prepared() } };
  if (shape instanceof CircleShape) return { ...geofence, shape: { kind: 'circle', lon: shape.lon, lat: shape.lat, radiusM: shape.radiusM } };
  throw new TypeError('a geofence shape is a PolygonShape or a CircleShape');
}

/** The geofence again, from what another thread sent. */
export function fromTransfer(transferred: TransferredGeofence): Geofence {
  const { shape } = transferred;
  return {
    ...transferred,
    shape: shape.kind === 'polygon' ? new PolygonShape(shape.polygons.map((p) => PreparedPolygon.revive(p))) : new CircleShape(shape.lon, shape.lat, shape.radiusM),
  };
}
