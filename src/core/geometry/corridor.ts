import geodesicLib from 'geographiclib-geodesic';
import { lineDiskInterval, metresPerDegreeLon, METRES_PER_DEGREE, wrapLongitude } from './planar.js';
import type { BBox } from './prepared-polygon.js';
import { splitAtAntimeridian, type Shape, type ShapePart } from './shape.js';

const { Geodesic } = geodesicLib;
const WGS84 = Geodesic.WGS84;

/** The sphere the great-circle search runs on (the mean radius, as PostGIS's sphere uses). */
const EARTH_RADIUS_M = 6_371_008.8;
/**
 * How far a distance on that sphere can be from the same one on the WGS84 ellipsoid: its radii
 * of curvature run from 6 335 km (a meridian at the equator) to 6 400 km (at the poles), within
 * 0.6% of the mean. A point whose sphere distance is further than that from the half width is
 * decided on the sphere; only the few nearer are measured on the ellipsoid.
 */
const SPHERE_ERROR = 0.006;
/** Segments per indexed part: a route across a city is found by the part near the point, not as one box. */
const SEGMENTS_PER_PART = 16;
const toRad = Math.PI / 180;

/** The point of a corridor's line nearest to a position. */
export interface NearestOnLine {
  /** Metres on the WGS84 ellipsoid from the position to the line. */
  readonly distanceM: number;
  /** Where along the line, as a fraction (0..1) of its whole length (the parts of a MultiLineString one after another). */
  readonly progress: number;
}

/**
 * A corridor: the points within `widthM / 2` metres of a LineString or MultiLineString, as
 * PostGIS's `ST_DWithin(line::geography, point::geography, width / 2)` has them. Each segment is
 * the great-circle arc between its ends; the nearest point of an arc is found on the sphere with
 * vectors (no projection, so that long segments and the antimeridian need no care), and the
 * distance to it measured on the ellipsoid (Karney) where the sphere's answer is too close to
 * the edge to trust.
 */
export class CorridorShape implements Shape {
  readonly parts: ShapePart[];
  readonly halfWidthM: number;
  /** Metres along the lines (on the sphere). */
  readonly lengthM: number;
  private readonly totalAngle: number;
  /**
   * Per segment, 16 numbers: its ends A and B as unit vectors, the unit normal n of their great
   * circle, n×A and B×n (a point on the A side of both is nearest to the inside of the arc), then
   * the arc's angle.
   */
  private readonly segments: Float64Array;
  /** Per segment, the angle of the line before it (the parts of a MultiLineString one after another). */
  private readonly before: Float64Array;
  /** Per segment, its ends' longitudes and latitudes, for the planar crossing test. */
  private readonly ends: Float64Array;
  /** The last point asked about, as a unit vector: the index asks once per nearby part. */
  private lastLon = Number.NaN;
  private lastLat = Number.NaN;
  private px = 0;
  private py = 0;
  private pz = 0;

  constructor(readonly lines: readonly (readonly (readonly number[])[])[], readonly widthM: number) {
    this.halfWidthM = widthM / 2;
    const count = lines.reduce((n, line) => n + Math.max(0, line.length - 1), 0);
    this.segments = new Float64Array(count * 16);
    this.ends = new Float64Array(count * 4);
    this.before = new Float64Array(count);
    this.parts = [];
    let s = 0;
    let before = 0;
    for (const line of lines) {
      const first = s;
      for (let i = 1; i < line.length; i++, s++) {
        const a = line[i - 1] as readonly number[];
        const b = line[i] as readonly number[];
        this.before[s] = before;
        before += this.putSegment(s, a[0] as number, a[1] as number, b[0] as number, b[1] as number);
      }
      for (let from = first; from < s; from += SEGMENTS_PER_PART) {
        const to = Math.min(s, from + SEGMENTS_PER_PART);
        for (const bbox of this.boxOf(from, to)) this.parts.push({ bbox, classification: null, covers: (lon, lat) => this.within(from, to, lon, lat) });
      }
    }
    this.totalAngle = before;
    this.lengthM = before * EARTH_RADIUS_M;
  }

  /** Stores segment `s` from (lon1, lat1) to (lon2, lat2); returns its angle. */
  private putSegment(s: number, lon1: number, lat1: number, lon2: number, lat2: number): number {
    const [ax, ay, az] = unit(lon1, lat1);
    const [bx, by, bz] = unit(lon2, lat2);
    let nx = ay * bz - az * by, ny = az * bx - ax * bz, nz = ax * by - ay * bx;
    const norm = Math.hypot(nx, ny, nz);
    // A segment of no length has no great circle: its n is zero, so only its ends count.
    if (norm > 0) {
      nx /= norm;
      ny /= norm;
      nz /= norm;
    }
    const angle = Math.atan2(norm, ax * bx + ay * by + az * bz);
    this.segments.set([
      ax, ay, az, bx, by, bz, nx, ny, nz,
      ny * az - nz * ay, nz * ax - nx * az, nx * ay - ny * ax,
      by * nz - bz * ny, bz * nx - bx * nz, bx * ny - by * nx,
      angle,
    ], s * 16);
    this.ends.set([lon1, lat1, lon2, lat2], s * 4);
    return angle;
  }

  /** The box of segments [from, to) grown by the half width, split at the antimeridian. */
  private boxOf(from: number, to: number): BBox[] {
    const e = this.ends;
    const origin = e[from * 4] as number;
    // Longitudes unwrapped to run on from the first: a part may cross the antimeridian.
    const near = (lon: number) => lon + 360 * Math.round((origin - lon) / 360);
    let minLon = Infinity, minLat = Infinity, maxLon = -Infinity, maxLat = -Infinity;
    for (let s = from; s < to; s++) {
      for (const k of [0, 2]) {
        const lon = near(e[s * 4 + k] as number), lat = e[s * 4 + k + 1] as number;
        minLon = Math.min(minLon, lon);
        maxLon = Math.max(maxLon, lon);
        minLat = Math.min(minLat, lat);
        maxLat = Math.max(maxLat, lat);
      }
    }
    // A great circle bulges poleward of its ends' latitudes, by at most this for a part's arcs.
    let longest = 0;
    for (let s = from; s < to; s++) longest = Math.max(longest, this.segments[s * 16 + 15] as number);
    const bulge = (1 - Math.cos(longest / 2)) * 90 + 1e-9;
    const margin = (this.halfWidthM * (1 + SPHERE_ERROR)) / METRES_PER_DEGREE;
    const dLat = margin + bulge;
    const widestLat = Math.min(89.999, Math.max(Math.abs(minLat), Math.abs(maxLat)) + dLat);
    const dLon = (this.halfWidthM * (1 + SPHERE_ERROR)) / Math.max(1e-9, metresPerDegreeLon(widestLat));
    const box = { minLon: minLon - dLon, minLat: Math.max(-90, minLat - dLat), maxLon: maxLon + dLon, maxLat: Math.min(90, maxLat + dLat) };
    if (widestLat >= 89.999 || box.maxLon - box.minLon >= 360) return [{ minLon: -180, minLat: box.minLat, maxLon: 180, maxLat: box.maxLat }];
    const shift = box.minLon < -180 ? 360 : box.minLon >= 180 ? -360 : 0;
    return splitAtAntimeridian({ ...box, minLon: box.minLon + shift, maxLon: box.maxLon + shift });
  }

  private locate(lon: number, lat: number): void {
    if (lon === this.lastLon && lat === this.lastLat) return;
    [this.px, this.py, this.pz] = unit(lon, lat);
    this.lastLon = lon;
    this.lastLat = lat;
  }

  /** The angle (radians) from the current point to segment s, and the fraction along it of its nearest point. */
  private angleTo(s: number): { angle: number; along: number } {
    const g = this.segments;
    const k = s * 16;
    const { px, py, pz } = this;
    const sideA = px * (g[k + 9] as number) + py * (g[k + 10] as number) + pz * (g[k + 11] as number);
    const sideB = px * (g[k + 12] as number) + py * (g[k + 13] as number) + pz * (g[k + 14] as number);
    const arc = g[k + 15] as number;
    if (arc > 0 && sideA >= 0 && sideB >= 0) {
      const sine = px * (g[k + 6] as number) + py * (g[k + 7] as number) + pz * (g[k + 8] as number);
      // The foot on the great circle, and how far it is from A.
      const fx = px - sine * (g[k + 6] as number), fy = py - sine * (g[k + 7] as number), fz = pz - sine * (g[k + 8] as number);
      const fromA = Math.atan2(Math.hypot(g[k + 1] as number * fz - (g[k + 2] as number) * fy, (g[k + 2] as number) * fx - (g[k] as number) * fz, (g[k] as number) * fy - (g[k + 1] as number) * fx), (g[k] as number) * fx + (g[k + 1] as number) * fy + (g[k + 2] as number) * fz);
      return { angle: Math.asin(Math.min(1, Math.abs(sine))), along: Math.min(1, fromA / arc) };
    }
    // Nearest to an end: compare the squared chords, and take the angle of the nearer only.
    const toA = squaredChord(px - (g[k] as number), py - (g[k + 1] as number), pz - (g[k + 2] as number));
    const toB = squaredChord(px - (g[k + 3] as number), py - (g[k + 4] as number), pz - (g[k + 5] as number));
    return toA <= toB ? { angle: chordAngle(toA), along: 0 } : { angle: chordAngle(toB), along: 1 };
  }

  /** The nearest of segments [from, to) to the current point: its index, angle and fraction. */
  private nearestOf(from: number, to: number): { segment: number; angle: number; along: number } {
    let best = { segment: -1, angle: Infinity, along: 0 };
    for (let s = from; s < to; s++) {
      const found = this.angleTo(s);
      if (found.angle < best.angle) best = { segment: s, ...found };
    }
    return best;
  }

  /**
   * Metres on the ellipsoid from the point to where `along` lies on segment s's arc (found on
   * the sphere, as PostGIS finds it, then measured on the ellipsoid by Karney's method).
   */
  private ellipsoidDistance(lon: number, lat: number, s: number, along: number): number {
    const g = this.segments;
    const k = s * 16;
    const arc = g[k + 15] as number;
    const [wa, wb] = arc === 0 ? [1, 0] : [Math.sin((1 - along) * arc) / Math.sin(arc), Math.sin(along * arc) / Math.sin(arc)];
    const fx = wa * (g[k] as number) + wb * (g[k + 3] as number);
    const fy = wa * (g[k + 1] as number) + wb * (g[k + 4] as number);
    const fz = wa * (g[k + 2] as number) + wb * (g[k + 5] as number);
    const footLat = Math.atan2(fz, Math.hypot(fx, fy)) / toRad;
    const footLon = Math.atan2(fy, fx) / toRad;
    return WGS84.Inverse(lat, lon, footLat, footLon, Geodesic.DISTANCE).s12 as number;
  }

  /** True when the point is within the half width of one of segments [from, to). */
  private within(from: number, to: number, lon: number, lat: number): boolean {
    this.locate(lon, lat);
    const nearest = this.nearestOf(from, to);
    const sphereM = nearest.angle * EARTH_RADIUS_M;
    if (sphereM <= this.halfWidthM * (1 - SPHERE_ERROR)) return true;
    if (sphereM > this.halfWidthM * (1 + SPHERE_ERROR)) return false;
    return this.ellipsoidDistance(lon, lat, nearest.segment, nearest.along) <= this.halfWidthM;
  }

  covers(lon: number, lat: number): boolean {
    return this.within(0, this.ends.length / 4, lon, lat);
  }

  /** The nearest point of the line: how far (on the ellipsoid) and where along it. */
  nearest(lon: number, lat: number): NearestOnLine {
    this.locate(lon, lat);
    const found = this.nearestOf(0, this.ends.length / 4);
    const arc = this.segments[found.segment * 16 + 15] as number;
    const along = (this.before[found.segment] as number) + found.along * arc;
    return {
      distanceM: this.ellipsoidDistance(lon, lat, found.segment, found.along),
      progress: this.totalAngle === 0 ? 0 : Math.min(1, along / this.totalAngle),
    };
  }

  distanceToBoundary(lon: number, lat: number): number {
    return Math.abs(this.nearest(lon, lat).distanceM - this.halfWidthM);
  }

  /**
   * Where the straight segment between two fixes enters and leaves the corridor, in metres
   * around its start (crossings are interpolated in the plane, like a polygon's): per segment
   * of the line, the stretch inside its capsule (two end discs and the band between), merged.
   */
  crossings(lon1: number, lat1: number, lon2: number, lat2: number): number[] {
    const kx = metresPerDegreeLon(lat1);
    const x = (lon: number) => wrapLongitude(lon - lon1) * kx;
    const y = (lat: number) => (lat - lat1) * METRES_PER_DEGREE;
    const dx = x(lon2), dy = y(lat2);
    const h = this.halfWidthM;
    const intervals: [number, number][] = [];
    const e = this.ends;
    for (let s = 0; s < e.length / 4; s++) {
      const ax = x(e[s * 4] as number), ay = y(e[s * 4 + 1] as number), bx = x(e[s * 4 + 2] as number), by = y(e[s * 4 + 3] as number);
      const inside = capsuleInterval(dx, dy, ax, ay, bx, by, h);
      if (inside === null) continue;
      const t0 = Math.max(0, inside[0]), t1 = Math.min(1, inside[1]);
      if (t0 <= t1) intervals.push([t0, t1]);
    }
    intervals.sort((a, b) => a[0] - b[0]);
    const result: number[] = [];
    let open: [number, number] | null = null;
    const close = (interval: [number, number]) => {
      if (interval[0] > 0) result.push(interval[0]);
      if (interval[1] < 1) result.push(interval[1]);
    };
    for (const interval of intervals) {
      if (open !== null && interval[0] <= open[1]) open[1] = Math.max(open[1], interval[1]);
      else {
        if (open !== null) close(open);
        open = [interval[0], interval[1]];
      }
    }
    if (open !== null) close(open);
    return result;
  }
}

function unit(lon: number, lat: number): [number, number, number] {
  const cosLat = Math.cos(lat * toRad);
  return [cosLat * Math.cos(lon * toRad), cosLat * Math.sin(lon * toRad), Math.sin(lat * toRad)];
}

const squaredChord = (dx: number, dy: number, dz: number) => dx * dx + dy * dy + dz * dz;

/** The angle between two unit vectors from the square of the chord between them. */
function chordAngle(squared: number): number {
  return 2 * Math.asin(Math.min(1, Math.sqrt(squared) / 2));
}

/**
 * The stretch [t0, t1] of the line t·(dx, dy) (from the origin) within `h` of the segment
 * a→b, or null: the capsule is convex, so its stretch is the union of the stretches in the two
 * end discs and in the band between them.
 */
function capsuleInterval(dx: number, dy: number, ax: number, ay: number, bx: number, by: number, h: number): [number, number] | null {
  const pieces = [lineDiskInterval(0, 0, dx, dy, ax, ay, h), lineDiskInterval(0, 0, dx, dy, bx, by, h), bandInterval(dx, dy, ax, ay, bx, by, h)];
  let t0 = Infinity, t1 = -Infinity;
  for (const piece of pieces) {
    if (piece === null) continue;
    t0 = Math.min(t0, piece[0]);
    t1 = Math.max(t1, piece[1]);
  }
  return t0 <= t1 ? [t0, t1] : null;
}

/** The stretch of t·(dx, dy) within `h` of the line a→b and between the perpendiculars at a and b. */
function bandInterval(dx: number, dy: number, ax: number, ay: number, bx: number, by: number, h: number): [number, number] | null {
  const length = Math.hypot(bx - ax, by - ay);
  if (length === 0) return null;
  const ex = (bx - ax) / length, ey = (by - ay) / length;
  let t0 = -Infinity, t1 = Infinity;
  // Each condition is lo <= c + t·r <= hi, with c and r the projections of the start and direction.
  const clip = (c: number, r: number, lo: number, hi: number) => {
    if (r === 0) {
      if (c < lo || c > hi) t0 = Infinity;
      return;
    }
    const [u, v] = [(lo - c) / r, (hi - c) / r];
    t0 = Math.max(t0, Math.min(u, v));
    t1 = Math.min(t1, Math.max(u, v));
  };
  clip(-ax * ex - ay * ey, dx * ex + dy * ey, 0, length);
  clip(-ax * -ey - ay * ex, dx * -ey + dy * ex, -h, h);
  return t0 <= t1 ? [t0, t1] : null;
}
