import { packLists } from './packed-lists.js';

/** Edges per latitude band, on average, that the index aims for. */
const EDGES_PER_BAND = 4;
const MAX_BANDS = 4096;
/** Band entries per edge, on average, that the index may hold: its memory bound. */
const MAX_ENTRIES_PER_EDGE = 32;

/** x of the edge (ax, ay)-(bx, by) at latitude y, as the crossing-number test computes it. */
function xAt(edges: Float64Array, i: number, y: number): number {
  const ax = edges[i] as number, ay = edges[i + 1] as number, bx = edges[i + 2] as number, by = edges[i + 3] as number;
  return ax + ((y - ay) * (bx - ax)) / (by - ay);
}

/** On the edge: collinear and within its extent. Exact, so vertices and points on axis-aligned or exactly representable edges count. */
function onEdge(edges: Float64Array, i: number, x: number, y: number): boolean {
  const ax = edges[i] as number, ay = edges[i + 1] as number, bx = edges[i + 2] as number, by = edges[i + 3] as number;
  return (bx - ax) * (y - ay) - (by - ay) * (x - ax) === 0 &&
    x >= Math.min(ax, bx) && x <= Math.max(ax, bx) && y >= Math.min(ay, by) && y <= Math.max(ay, by);
}

/**
 * Latitude bands over a polygon's edges (ax, ay, bx, by per edge). Per band, the edges that end
 * inside it are listed as they are, and the edges that pass right through it are kept sorted
 * west to east: edges of a valid polygon do not cross, so that order holds across the band, and
 * a point counts the ones east of it with a binary search. A comb's teeth or a star's spikes,
 * tall edges by the thousand, then cost a point O(log n) rather than a scan of them all. The
 * band count is halved until the entries fit a fixed number per edge: memory linear in edges.
 */
export class BandIndex {
  private readonly count: number;
  private readonly height: number;
  /** Edges that start or end in the band (indices into edges / 4). */
  private readonly endStart: Uint32Array;
  private readonly endEdges: Uint32Array;
  /** Edges that pass through the band from below it to above it, west to east. */
  private readonly passStart: Uint32Array;
  private readonly passEdges: Uint32Array;

  constructor(private readonly edges: Float64Array, private readonly minLat: number, maxLat: number) {
    const edgeCount = edges.length / 4;
    let count = Math.max(1, Math.min(MAX_BANDS, Math.ceil(edgeCount / EDGES_PER_BAND)));
    while (count > 1 && this.entries(count, (maxLat - minLat) / count || 1) > MAX_ENTRIES_PER_EDGE * edgeCount) count = Math.ceil(count / 2);
    this.count = count;
    this.height = (maxLat - minLat) / count || 1;
    const ending: number[][] = Array.from({ length: count }, () => []);
    const passing: number[][] = Array.from({ length: count }, () => []);
    for (let e = 0; e < edgeCount; e++) {
      const [first, last] = this.span(e);
      ending[first]?.push(e);
      if (last !== first) ending[last]?.push(e);
      for (let band = first + 1; band < last; band++) passing[band]?.push(e);
    }
    passing.forEach((list, band) => {
      const y = minLat + (band + 0.5) * this.height;
      list.sort((a, b) => xAt(edges, a * 4, y) - xAt(edges, b * 4, y));
    });
    ({ start: this.endStart, items: this.endEdges } = packLists(ending));
    ({ start: this.passStart, items: this.passEdges } = packLists(passing));
  }

  /** An index that crossed a thread boundary (see PreparedPolygon.revive). */
  static revive(clone: object): BandIndex {
    return Object.assign(Object.create(BandIndex.prototype) as object, clone) as BandIndex;
  }

  private entries(count: number, height: number): number {
    let total = 0;
    for (let i = 0; i < this.edges.length; i += 4) {
      const a = this.edges[i + 1] as number, b = this.edges[i + 3] as number;
      total += this.bandOf(Math.max(a, b), count, height) - this.bandOf(Math.min(a, b), count, height) + 1;
    }
    return total;
  }

  private bandOf(lat: number, count = this.count, height = this.height): number {
    return Math.max(0, Math.min(count - 1, Math.floor((lat - this.minLat) / height)));
  }

  /** The first and last band edge `e` overlaps. */
  private span(e: number): [number, number] {
    const a = this.edges[e * 4 + 1] as number, b = this.edges[e * 4 + 3] as number;
    return [this.bandOf(Math.min(a, b)), this.bandOf(Math.max(a, b))];
  }

  /** True when the point is inside (even-odd over every ring, so holes subtract) or on an edge. */
  covers(x: number, y: number): boolean {
    const band = this.bandOf(y);
    const edges = this.edges;
    let inside = false;
    for (let k = this.endStart[band] as number, end = this.endStart[band + 1] as number; k < end; k++) {
      const i = (this.endEdges[k] as number) * 4;
      if (onEdge(edges, i, x, y)) return true;
      const ay = edges[i + 1] as number, by = edges[i + 3] as number;
      if (ay > y !== by > y && x < xAt(edges, i, y)) inside = !inside;
    }
    // A passing edge starts in a band below y's and ends in one above, so it spans y strictly:
    // the count of those east of the point is their number after the first one east of it.
    const start = this.passStart[band] as number, end = this.passStart[band + 1] as number;
    let lo = start, hi = end;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (x < xAt(edges, (this.passEdges[mid] as number) * 4, y)) hi = mid;
      else lo = mid + 1;
    }
    // A point on a passing edge sits next to where the search stopped.
    for (let k = Math.max(start, lo - 2); k < Math.min(end, lo + 2); k++) if (onEdge(edges, (this.passEdges[k] as number) * 4, x, y)) return true;
    return (end - lo) % 2 === 1 ? !inside : inside;
  }

  /** Calls `visit` once with every edge overlapping a band from the one of `lat1` to the one of `lat2`. */
  forEachEdgeBetween(lat1: number, lat2: number, visit: (e: number) => void): void {
    const first = this.bandOf(Math.min(lat1, lat2));
    const last = this.bandOf(Math.max(lat1, lat2));
    for (let band = first; band <= last; band++) {
      // An edge ending in two of these bands is visited from the first of them only.
      for (let k = this.endStart[band] as number, end = this.endStart[band + 1] as number; k < end; k++) {
        const e = this.endEdges[k] as number;
        if (band === first || this.span(e)[0] === band) visit(e);
      }
      // A passing edge is visited from the first band of the range it is listed in.
      if (band === first) for (let k = this.passStart[band] as number; k < (this.passStart[band + 1] as number); k++) visit(this.passEdges[k] as number);
    }
  }
}
