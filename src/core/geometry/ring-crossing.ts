import RBush from 'rbush';
import type { Rings } from './prepared-polygon.js';

interface Segment {
  minX: number;
  minY: number;
  maxX: number;
  maxY: number;
  ring: number;
  index: number;
}

/** Which side of a→b the point p lies on: >0 left, <0 right, 0 on the line. */
function orientation(ax: number, ay: number, bx: number, by: number, px: number, py: number): number {
  return Math.sign((bx - ax) * (py - ay) - (by - ay) * (px - ax));
}

type Point = readonly number[];

/** True when two segments cross at a point inside both, or overlap along a stretch of both. */
function crosses(a: Point, b: Point, c: Point, d: Point): boolean {
  const [ax, ay, bx, by, cx, cy, dx, dy] = [a[0], a[1], b[0], b[1], c[0], c[1], d[0], d[1]] as [number, number, number, number, number, number, number, number];
  const o1 = orientation(ax, ay, bx, by, cx, cy);
  const o2 = orientation(ax, ay, bx, by, dx, dy);
  const o3 = orientation(cx, cy, dx, dy, ax, ay);
  const o4 = orientation(cx, cy, dx, dy, bx, by);
  if (o1 * o2 < 0 && o3 * o4 < 0) return true;
  if (o1 !== 0 || o2 !== 0) return false;
  // Collinear: they overlap when their projections on the longer axis share more than a point.
  const axis = Math.abs(bx - ax) >= Math.abs(by - ay) ? 0 : 1;
  const [p1, p2] = [Math.min(a[axis] as number, b[axis] as number), Math.max(a[axis] as number, b[axis] as number)];
  const [q1, q2] = [Math.min(c[axis] as number, d[axis] as number), Math.max(c[axis] as number, d[axis] as number)];
  return Math.min(p2, q2) - Math.max(p1, q1) > 0;
}

/**
 * Null when no two edges of the polygon's rings cross, else where two do: a self-intersecting
 * ("bow-tie") polygon has no well-defined inside, so it is refused rather than guessed at.
 * Rings may touch at a vertex (common in exported boundary data), which does not count. Edges
 * are indexed in an R-tree, so only edges whose boxes overlap are compared.
 */
export function ringCrossing(polygon: Rings): string | null {
  const tree = new RBush<Segment>();
  const segments: Segment[] = [];
  polygon.forEach((ring, r) => {
    for (let i = 0; i + 1 < ring.length; i++) {
      const [a, b] = [ring[i] as Point, ring[i + 1] as Point];
      segments.push({
        minX: Math.min(a[0] as number, b[0] as number), minY: Math.min(a[1] as number, b[1] as number),
        maxX: Math.max(a[0] as number, b[0] as number), maxY: Math.max(a[1] as number, b[1] as number), ring: r, index: i,
      });
    }
  });
  tree.load(segments);
  for (const s of segments) {
    const ring = polygon[s.ring] as readonly Point[];
    const edges = ring.length - 1;
    for (const t of tree.search(s)) {
      if (t.ring < s.ring || (t.ring === s.ring && t.index <= s.index)) continue;
      // Neighbours on a ring share a vertex by construction.
      if (t.ring === s.ring && (t.index === s.index + 1 || (s.index === 0 && t.index === edges - 1))) continue;
      const other = polygon[t.ring] as readonly Point[];
      if (crosses(ring[s.index] as Point, ring[s.index + 1] as Point, other[t.index] as Point, other[t.index + 1] as Point)) {
        const where = (x: Segment) => `ring ${x.ring} edge ${x.index}`;
        return `${where(s)} crosses ${where(t)} near [${ring[s.index]?.join(', ')}]; a polygon's edges must not cross (fix the outline, or split it into a MultiPolygon)`;
      }
    }
  }
  return null;
}
