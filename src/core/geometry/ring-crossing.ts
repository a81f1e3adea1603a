import { orient2d } from 'robust-predicates';
import SplayTree from 'splaytree';
import type { Rings } from './prepared-polygon.js';

/** An edge with its ends in sweep order: `l` before `r` by x, then y. */
interface Segment {
  readonly lx: number;
  readonly ly: number;
  readonly rx: number;
  readonly ry: number;
  readonly ring: number;
  readonly index: number;
  /** Its order of creation: ties between collinear segments are broken by it. */
  readonly id: number;
}

interface SweepEvent {
  readonly x: number;
  readonly y: number;
  readonly segment: Segment;
  readonly isLeft: boolean;
}

/** >0 when (px, py) is left of the directed line a→b, <0 right, 0 on it; exact (robust-predicates). */
function side(ax: number, ay: number, bx: number, by: number, px: number, py: number): number {
  return -orient2d(ax, ay, bx, by, px, py);
}

const before = (ax: number, ay: number, bx: number, by: number) => ax < bx || (ax === bx && ay < by);

/**
 * The order of two segments on the sweep line, from below to above. Valid for segments that do
 * not cross, which is all the sweep keeps: it stops at the first crossing. The later-starting
 * segment's left end lies within the other's span, so its side of the other's line tells.
 */
function compareSegments(a: Segment, b: Segment): number {
  if (a === b) return 0;
  if (before(b.lx, b.ly, a.lx, a.ly)) return -compareSegments(b, a);
  let s = side(a.lx, a.ly, a.rx, a.ry, b.lx, b.ly);
  if (s === 0) s = side(a.lx, a.ly, a.rx, a.ry, b.rx, b.ry);
  if (s === 0) return a.id - b.id;
  return s > 0 ? -1 : 1;
}

const sameEnd = (ax: number, ay: number, bx: number, by: number) => ax === bx && ay === by;

/**
 * True when two edges share a point that makes the polygon invalid: a crossing, an overlap
 * along a stretch, or (within one ring) a vertex lying inside another edge. Edges meeting at a
 * shared vertex do not count: neighbours on a ring do by construction, and rings touching at a
 * vertex are common in exported boundary data.
 */
function meets(a: Segment, b: Segment): boolean {
  const o1 = side(a.lx, a.ly, a.rx, a.ry, b.lx, b.ly);
  const o2 = side(a.lx, a.ly, a.rx, a.ry, b.rx, b.ry);
  if ((o1 > 0 && o2 > 0) || (o1 < 0 && o2 < 0)) return false;
  const o3 = side(b.lx, b.ly, b.rx, b.ry, a.lx, a.ly);
  const o4 = side(b.lx, b.ly, b.rx, b.ry, a.rx, a.ry);
  if ((o3 > 0 && o4 > 0) || (o3 < 0 && o4 < 0)) return false;
  if (o1 === 0 && o2 === 0) {
    // Collinear: they overlap when the later start comes before the earlier end.
    const [sx, sy] = before(a.lx, a.ly, b.lx, b.ly) ? [b.lx, b.ly] : [a.lx, a.ly];
    const [ex, ey] = before(a.rx, a.ry, b.rx, b.ry) ? [a.rx, a.ry] : [b.rx, b.ry];
    return before(sx, sy, ex, ey);
  }
  const shared = sameEnd(a.lx, a.ly, b.lx, b.ly) || sameEnd(a.lx, a.ly, b.rx, b.ry) || sameEnd(a.rx, a.ry, b.lx, b.ly) || sameEnd(a.rx, a.ry, b.rx, b.ry);
  if (shared) return false;
  // A single point in common: a proper crossing, or an end touching the other's inside.
  const proper = o1 !== 0 && o2 !== 0 && o3 !== 0 && o4 !== 0;
  return proper || a.ring === b.ring;
}

function segmentsOf(polygon: Rings): Segment[] {
  const segments: Segment[] = [];
  polygon.forEach((ring, r) => {
    for (let i = 0; i + 1 < ring.length; i++) {
      const ax = ring[i]?.[0] as number, ay = ring[i]?.[1] as number, bx = ring[i + 1]?.[0] as number, by = ring[i + 1]?.[1] as number;
      // A repeated point is an edge of no length: it meets nothing its neighbours do not.
      if (ax === bx && ay === by) continue;
      const [lx, ly, rx, ry] = before(ax, ay, bx, by) ? [ax, ay, bx, by] : [bx, by, ax, ay];
      segments.push({ lx, ly, rx, ry, ring: r, index: i, id: segments.length });
    }
  });
  return segments;
}

/**
 * Null when no two edges of the polygon's rings cross, else where two do: a self-intersecting
 * ("bow-tie") polygon has no well-defined inside, so it is refused rather than guessed at.
 * Shamos-Hoey: a sweep line keeps the edges it crosses in order (a splay tree) and tests only
 * edges that become neighbours in that order, so a polygon of n edges costs O(n log n), whatever
 * its shape. The first crossing stops it, before any could break the order.
 */
export function ringCrossing(polygon: Rings): string | null {
  const events: SweepEvent[] = [];
  for (const segment of segmentsOf(polygon)) {
    events.push({ x: segment.lx, y: segment.ly, segment, isLeft: true }, { x: segment.rx, y: segment.ry, segment, isLeft: false });
  }
  // By point; at one point, ends before starts, so that edges meeting there are never both held.
  events.sort((a, b) => a.x - b.x || a.y - b.y || Number(a.isLeft) - Number(b.isLeft));
  const status = new SplayTree<Segment, null>(compareSegments as (a: unknown, b: unknown) => number);
  const nodes = new Map<Segment, ReturnType<typeof status.insert>>();
  const found = (a: Segment | undefined, b: Segment | undefined) => (a !== undefined && b !== undefined && meets(a, b) ? describe(polygon, a, b) : null);
  for (const event of events) {
    const segment = event.segment;
    if (event.isLeft) {
      const node = status.insert(segment, null);
      nodes.set(segment, node);
      const crossing = found(segment, status.prev(node)?.key) ?? found(segment, status.next(node)?.key);
      if (crossing !== null) return crossing;
    } else {
      const node = nodes.get(segment);
      if (node === undefined) continue;
      const below = status.prev(node)?.key;
      const above = status.next(node)?.key;
      status.remove(segment);
      nodes.delete(segment);
      const crossing = found(below, above);
      if (crossing !== null) return crossing;
    }
  }
  return null;
}

function describe(polygon: Rings, a: Segment, b: Segment): string {
  const [first, second] = a.ring < b.ring || (a.ring === b.ring && a.index < b.index) ? [a, b] : [b, a];
  const where = (s: Segment) => `ring ${s.ring} edge ${s.index}`;
  const point = polygon[first.ring]?.[first.index] ?? [];
  return `${where(first)} crosses ${where(second)} near [${point.join(', ')}]; a polygon's edges must not cross (fix the outline, or split it into a MultiPolygon)`;
}
