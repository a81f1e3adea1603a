import RBush from 'rbush';
import type { Geofence } from './geofence.js';

interface Entry {
  minX: number;
  minY: number;
  maxX: number;
  maxY: number;
  geofence: Geofence;
}

/** A geofence that the segment between two fixes passes through, with where it enters and leaves. */
export interface Crossing {
  readonly geofence: Geofence;
  /** Fractions (0..1) along the segment. */
  readonly enteredAt: number;
  readonly leftAt: number;
}

/**
 * One tenant's geofences: an R-tree over their bounding boxes narrows a fix to a few
 * candidates, then each candidate's prepared shape gives the exact answer.
 */
export class GeofenceIndex {
  // 16 entries per node: geofence sets are built once and queried millions of times, and wider
  // nodes make for a shallower tree at the same query cost.
  private readonly tree = new RBush<Entry>(16);
  private readonly byId = new Map<string, Geofence>();

  constructor(geofences: Iterable<Geofence> = []) {
    const entries: Entry[] = [];
    for (const geofence of geofences) {
      this.byId.set(geofence.id, geofence);
      for (const b of geofence.shape.bboxes) entries.push({ minX: b.minLon, minY: b.minLat, maxX: b.maxLon, maxY: b.maxLat, geofence });
    }
    this.tree.load(entries);
  }

  get size(): number {
    return this.byId.size;
  }

  get(id: string): Geofence | undefined {
    return this.byId.get(id);
  }

  all(): IterableIterator<Geofence> {
    return this.byId.values();
  }

  /** The geofences covering the point (inside or on the boundary). */
  containing(lon: number, lat: number): Geofence[] {
    const found: Geofence[] = [];
    for (const entry of this.tree.search({ minX: lon, minY: lat, maxX: lon, maxY: lat })) {
      if (entry.geofence.shape.covers(lon, lat) && !found.includes(entry.geofence)) found.push(entry.geofence);
    }
    return found;
  }

  /** The geofences whose boundary the straight segment between two points crosses twice or more. */
  crossedBy(lon1: number, lat1: number, lon2: number, lat2: number): Crossing[] {
    const result: Crossing[] = [];
    const seen = new Set<Geofence>();
    // A segment spanning the antimeridian is searched as the two pieces either side of it.
    const boxes = Math.abs(lon2 - lon1) > 180
      ? [{ minX: Math.max(lon1, lon2), maxX: 180 }, { minX: -180, maxX: Math.min(lon1, lon2) }]
      : [{ minX: Math.min(lon1, lon2), maxX: Math.max(lon1, lon2) }];
    for (const box of boxes) {
      for (const entry of this.tree.search({ ...box, minY: Math.min(lat1, lat2), maxY: Math.max(lat1, lat2) })) {
        if (seen.has(entry.geofence)) continue;
        seen.add(entry.geofence);
        const ts = entry.geofence.shape.crossings(lon1, lat1, lon2, lat2);
        if (ts.length >= 2) result.push({ geofence: entry.geofence, enteredAt: ts[0] as number, leftAt: ts[ts.length - 1] as number });
      }
    }
    return result;
  }
}
