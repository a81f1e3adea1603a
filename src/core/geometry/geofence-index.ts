import RBush from 'rbush';
import { CellGrid } from './cell-grid.js';
import type { Geofence } from './geofence.js';
import { CELL_BOUNDARY, CELL_INSIDE, CELL_OUTSIDE, GRID } from './prepared-polygon.js';
import type { ShapePart } from './shape.js';

const CELLS = GRID * GRID;

interface Entry {
  minX: number;
  minY: number;
  maxX: number;
  maxY: number;
  geofence: Geofence;
  part: ShapePart;
}


/** A geofence that the segment between two fixes passes through, with where it enters and leaves. */
export interface Crossing {
  readonly geofence: Geofence;
  /** Fractions (0..1) along the segment. */
  readonly enteredAt: number;
  readonly leftAt: number;
}

/**
 * One tenant's geofences. Their bounding boxes are indexed twice: a uniform grid answers point
 * lookups (every fix), an R-tree answers segment lookups (crossings between sparse fixes), where
 * boxes of any size and shape meet. Each candidate's prepared shape then gives the exact answer.
 */
export class GeofenceIndex {
  // 16 entries per node: geofence sets are built once and queried millions of times, and wider
  // nodes make for a shallower tree at the same query cost.
  private readonly tree = new RBush<Entry>(16);
  private readonly byId = new Map<string, Geofence>();
  /** The entries again, indexed by the point grid. */
  private readonly entries: Entry[];
  private readonly grid: CellGrid;
  /**
   * Every polygon part's cell grid, side by side, and per part its origin, cell size and
   * whether it wraps (NaN for parts without a grid). Kept contiguous because a point in a dense
   * city has dozens of candidates, and following each one's objects to its own grid cost more
   * cache misses than the test itself.
   */
  private readonly cells: Uint8Array;
  private readonly cellParams: Float64Array;

  constructor(geofences: Iterable<Geofence> = []) {
    const entries: Entry[] = [];
    for (const geofence of geofences) {
      this.byId.set(geofence.id, geofence);
      for (const part of geofence.shape.parts) {
        const b = part.bbox;
        entries.push({ minX: b.minLon, minY: b.minLat, maxX: b.maxLon, maxY: b.maxLat, geofence, part });
      }
    }
    this.tree.load(entries);
    this.entries = entries;
    this.grid = new CellGrid(entries.map((e) => ({ minLon: e.minX, minLat: e.minY, maxLon: e.maxX, maxLat: e.maxY })));
    this.cells = new Uint8Array(entries.length * CELLS);
    this.cellParams = new Float64Array(entries.length * 5).fill(Number.NaN);
    entries.forEach((entry, i) => {
      const c = entry.part.classification;
      if (c === null) return;
      this.cells.set(c.cells, i * CELLS);
      this.cellParams.set([c.minLon, c.minLat, c.cellWidth, c.cellHeight, c.wraps ? 1 : 0], i * 5);
    });
  }

  /** CELL_INSIDE, CELL_OUTSIDE, or CELL_BOUNDARY when only the part's edges can tell. */
  private classify(i: number, lon: number, lat: number): number {
    const p = this.cellParams;
    const k = i * 5;
    const minLon = p[k] as number;
    if (Number.isNaN(minLon)) return CELL_BOUNDARY;
    const x = p[k + 4] === 1 && lon < minLon ? lon + 360 : lon;
    const column = Math.max(0, Math.min(GRID - 1, Math.floor((x - minLon) / (p[k + 2] as number))));
    const row = Math.max(0, Math.min(GRID - 1, Math.floor((lat - (p[k + 1] as number)) / (p[k + 3] as number))));
    return this.cells[i * CELLS + row * GRID + column] as number;
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
    if (this.byId.size === 0) return [];
    const found: Geofence[] = [];
    this.grid.forEachAt(lon, lat, (i) => {
      const cell = this.classify(i, lon, lat);
      if (cell === CELL_OUTSIDE) return;
      const entry = this.entries[i] as Entry;
      if ((cell === CELL_INSIDE || entry.part.covers(lon, lat)) && !found.includes(entry.geofence)) found.push(entry.geofence);
    });
    return found;
  }

  /**
   * The geofences whose boundary the straight segment between two points crosses twice or more,
   * leaving out those `skip` names (the ones a fix is inside need no crossing test).
   */
  crossedBy(lon1: number, lat1: number, lon2: number, lat2: number, skip: (geofence: Geofence) => boolean = () => false): Crossing[] {
    // Most fixes of a tenant without geofences pass here: no boxes or sets for them.
    if (this.byId.size === 0) return [];
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
        if (skip(entry.geofence)) continue;
        const ts = entry.geofence.shape.crossings(lon1, lat1, lon2, lat2);
        if (ts.length >= 2) result.push({ geofence: entry.geofence, enteredAt: ts[0] as number, leftAt: ts[ts.length - 1] as number });
      }
    }
    return result;
  }
}
