import type { Geofence } from '../core/geometry/geofence.js';
import { PreparedPolygon } from '../core/geometry/prepared-polygon.js';
import { CorridorShape } from '../core/geometry/corridor.js';
import { CircleShape, PolygonShape, type Shape } from '../core/geometry/shape.js';

/** A prepared geofence as it crosses a thread boundary: data only, no closures or classes. */
export interface TransferredGeofence extends Omit<Geofence, 'shape'> {
  readonly shape:
    | { readonly kind: 'polygon'; readonly polygons: readonly object[] }
    | { readonly kind: 'circle'; readonly lon: number; readonly lat: number; readonly radiusM: number }
    | { readonly kind: 'corridor'; readonly lines: readonly (readonly (readonly number[])[])[]; readonly widthM: number };
}

/** The geofence as data for postMessage; its prepared polygons are cloned, not prepared again. */
export function toTransfer(geofence: Geofence): TransferredGeofence {
  const { shape } = geofence;
  if (shape instanceof PolygonShape) return { ...geofence, shape: { kind: 'polygon', polygons: shape.prepared() } };
  if (shape instanceof CircleShape) return { ...geofence, shape: { kind: 'circle', lon: shape.lon, lat: shape.lat, radiusM: shape.radiusM } };
  if (shape instanceof CorridorShape) return { ...geofence, shape: { kind: 'corridor', lines: shape.lines, widthM: shape.widthM } };
  throw new TypeError('a geofence shape is a PolygonShape, a CircleShape or a CorridorShape');
}

/** The geofence again, from what another thread sent. */
export function fromTransfer(transferred: TransferredGeofence): Geofence {
  const { shape } = transferred;
  return {
    ...transferred,
    shape: shapeFrom(shape),
  };
}

function shapeFrom(shape: TransferredGeofence['shape']): Shape {
  switch (shape.kind) {
    case 'polygon': return new PolygonShape(shape.polygons.map((p) => PreparedPolygon.revive(p)));
    case 'circle': return new CircleShape(shape.lon, shape.lat, shape.radiusM);
    // A corridor is quick to prepare again (a few numbers per segment): it crosses as its lines.
    case 'corridor': return new CorridorShape(shape.lines, shape.widthM);
  }
}
