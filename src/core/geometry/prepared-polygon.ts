import { BandIndex } from './band-index.js';
import { metresPerDegreeLon, METRES_PER_DEGREE, pointSegmentDistance, segmentIntersection } from './planar.js';

/** [lon, lat] rings: the first is the outer boundary, the others are holes (GeoJSON order). */
export type Rings = readonly (readonly (readonly number[])[])[];

export interface BBox {
  readonly minLon: number;
  readonly minLat: number;
  readonly maxLon: number;
  readonly maxLat: number;
}

/**
 * Cells per side of the coarse grid laid over the bounding box. Each cell is known to be wholly
 * inside, wholly outside, or crossed by an edge; only points in crossed cells scan edges. 16 x 16
 * answers most points of a real outline at once for 256 bytes a polygon.
 */
export const GRID = 16;
export const CELL_OUTSIDE = 1;
export const CELL_INSIDE = 2;
export const CELL_BOUNDARY = 3;

/** The coarse grid of a polygon, for an index to copy into one contiguous array. */
export interface CellClassification {
  /** GRID x GRID cells, row by row from the south-west: CELL_OUTSIDE, CELL_INSIDE or CELL_BOUNDARY. */
  readonly cells: Uint8Array;
  readonly minLon: number;
  readonly minLat: number;
  readonly cellWidth: number;
  readonly cellHeight: number;
  readonly wraps: boolean;
}

/**
 * A polygon (with holes) prepared for fast, repeated point tests: its edges in one flat array
 * and an index of latitude bands (band-index.ts), so that a point test looks at
 * a handful of edges instead of all of them, and a coarse grid of cells classified inside,
 * outside or boundary, so that most points need no edge at all. A ring crossing the
 * antimeridian (an edge spanning more than 180° of longitude) is unwrapped to continuous
 * longitudes beyond 180.
 */
export class PreparedPolygon {
  /** ax, ay, bx, by per edge, in (possibly unwrapped) degrees. */
  private readonly edges: Float64Array;
  private readonly bands: BandIndex;
  private readonly cells: Uint8Array;
  private readonly cellWidth: number;
  private readonly cellHeight: number;
  /** True when longitudes were unwrapped past 180 (the polygon crosses the antimeridian). */
  readonly wraps: boolean;
  /** In unwrapped longitudes when `wraps`. */
  readonly bbox: BBox;
  // The box again as plain fields: the hot path reads them without a hop to another object.
  private readonly minLon: number;
  private readonly minLat: number;
  private readonly maxLon: number;
  private readonly maxLat: number;

  constructor(rings: Rings) {
    this.wraps = rings.some((ring) => ring.some((point, i) => i > 0 && Math.abs((point[0] as number) - (ring[i - 1]?.[0] as number)) > 180));
    const unwrap = (lon: number) => (this.wraps && lon < 0 ? lon + 360 : lon);
    let edgeCount = 0;
    for (const ring of rings) edgeCount += Math.max(0, ring.length - 1);
    this.edges = new Float64Array(edgeCount * 4);
    let minLon = Infinity, minLat = Infinity, maxLon = -Infinity, maxLat = -Infinity;
    let e = 0;
    for (const ring of rings) {
      for (let i = 1; i < ring.length; i++) {
        const a = ring[i - 1] as readonly number[];
        const b = ring[i] as readonly number[];
        const ax = unwrap(a[0] as number), ay = a[1] as number, bx = unwrap(b[0] as number), by = b[1] as number;
        this.edges.set([ax, ay, bx, by], e * 4);
        e++;
        minLon = Math.min(minLon, ax, bx);
        maxLon = Math.max(maxLon, ax, bx);
        minLat = Math.min(minLat, ay, by);
        maxLat = Math.max(maxLat, ay, by);
      }
    }
    this.bbox = { minLon, minLat, maxLon, maxLat };
    this.minLon = minLon;
    this.minLat = minLat;
    this.maxLon = maxLon;
    this.maxLat = maxLat;

    this.bands = new BandIndex(this.edges, minLat, maxLat);

    this.cellWidth = (maxLon - minLon) / GRID || 1;
    this.cellHeight = (maxLat - minLat) / GRID || 1;
    this.cells = new Uint8Array(GRID * GRID);
    // Every cell an edge's box overlaps is a boundary cell: conservative, and exact enough.
    for (let i = 0; i < edgeCount; i++) {
      const e = this.edges.subarray(i * 4, i * 4 + 4) as unknown as [number, number, number, number];
      const [c0, c1] = [this.column(Math.min(e[0], e[2])), this.column(Math.max(e[0], e[2]))];
      const [r0, r1] = [this.row(Math.min(e[1], e[3])), this.row(Math.max(e[1], e[3]))];
      for (let r = r0; r <= r1; r++) for (let c = c0; c <= c1; c++) this.cells[r * GRID + c] = CELL_BOUNDARY;
    }
    // Any other cell is wholly on one side: its centre tells which.
    for (let r = 0; r < GRID; r++) {
      for (let c = 0; c < GRID; c++) {
        if (this.cells[r * GRID + c] === CELL_BOUNDARY) continue;
        const inside = this.scan(minLon + (c + 0.5) * this.cellWidth, minLat + (r + 0.5) * this.cellHeight);
        this.cells[r * GRID + c] = inside ? CELL_INSIDE : CELL_OUTSIDE;
      }
    }
  }

  /**
   * A polygon that crossed a thread boundary: structured clone keeps every field (typed arrays
   * and numbers) but not the class, which this gives back without preparing anything again.
   */
  static revive(clone: object): PreparedPolygon {
    const polygon = Object.assign(Object.create(PreparedPolygon.prototype) as object, clone) as { bands: BandIndex };
    polygon.bands = BandIndex.revive(polygon.bands);
    return polygon as unknown as PreparedPolygon;
  }

  classification(): CellClassification {
    return { cells: this.cells, minLon: this.minLon, minLat: this.minLat, cellWidth: this.cellWidth, cellHeight: this.cellHeight, wraps: this.wraps };
  }

  private column(lon: number): number {
    return Math.max(0, Math.min(GRID - 1, Math.floor((lon - this.minLon) / this.cellWidth)));
  }

  private row(lat: number): number {
    return Math.max(0, Math.min(GRID - 1, Math.floor((lat - this.minLat) / this.cellHeight)));
  }

  /** The longitude to test against this polygon: shifted past 180 when the polygon wraps. */
  private lonFor(lon: number): number {
    return this.wraps && lon < this.minLon ? lon + 360 : lon;
  }

  /** True when the point is inside or on the boundary (a hole's boundary included). */
  covers(lon: number, lat: number): boolean {
    const x = this.lonFor(lon);
    if (x < this.minLon || x > this.maxLon || lat < this.minLat || lat > this.maxLat) return false;
    const cell = this.cells[this.row(lat) * GRID + this.column(x)];
    return cell === CELL_BOUNDARY ? this.scan(x, lat) : cell === CELL_INSIDE;
  }

  /** The exact test on the edges (longitude already unwrapped). */
  private scan(x: number, y: number): boolean {
    return this.bands.covers(x, y);
  }

  /** Distance in metres from the point to the nearest edge (outer boundary or hole). */
  distanceToBoundary(lon: number, lat: number): number {
    const x = this.lonFor(lon);
    const kx = metresPerDegreeLon(lat);
    const edges = this.edges;
    let best = Infinity;
    for (let i = 0; i < edges.length; i += 4) {
      const d = pointSegmentDistance(
        0, 0,
        ((edges[i] as number) - x) * kx, ((edges[i + 1] as number) - lat) * METRES_PER_DEGREE,
        ((edges[i + 2] as number) - x) * kx, ((edges[i + 3] as number) - lat) * METRES_PER_DEGREE,
      );
      if (d < best) best = d;
    }
    return best;
  }

  /**
   * Fractions along the segment from (lon1, lat1) to (lon2, lat2) where it crosses an edge,
   * sorted. Empty when the segment does not touch the boundary.
   */
  crossings(lon1: number, lat1: number, lon2: number, lat2: number): number[] {
    let x1 = this.lonFor(lon1);
    let x2 = this.lonFor(lon2);
    // A segment that itself crosses the antimeridian: bring its end next to its start.
    if (x2 - x1 > 180) x2 -= 360;
    else if (x1 - x2 > 180) x2 += 360;
    if (this.wraps && x1 < this.bbox.minLon && x2 < this.bbox.minLon) {
      x1 += 360;
      x2 += 360;
    }
    const result: number[] = [];
    if (Math.max(lat1, lat2) < this.minLat || Math.min(lat1, lat2) > this.maxLat) return result;
    // Only the edges of the bands the segment spans can meet it.
    const edges = this.edges;
    this.bands.forEachEdgeBetween(lat1, lat2, (edge) => {
      const i = edge * 4;
      const t = segmentIntersection(x1, lat1, x2, lat2, edges[i] as number, edges[i + 1] as number, edges[i + 2] as number, edges[i + 3] as number);
      if (t !== null) result.push(t);
    });
    return result.sort((a, b) => a - b);
  }
}
