/**
 * Small planar helpers. Geofences are small next to the Earth, so distances and intersections
 * are computed in a local equirectangular projection around the point in question: metres east
 * and north of it. Good to a fraction of a metre over a few kilometres, which is what
 * hysteresis and crossing interpolation need.
 */
export const METRES_PER_DEGREE = 111_320;

/** Metres per degree of longitude at a latitude. */
export function metresPerDegreeLon(lat: number): number {
  return METRES_PER_DEGREE * Math.cos((lat * Math.PI) / 180);
}

/** Distance in metres from (px, py) to the segment (ax, ay)-(bx, by), all in local metres. */
export function pointSegmentDistance(px: number, py: number, ax: number, ay: number, bx: number, by: number): number {
  const dx = bx - ax;
  const dy = by - ay;
  const lengthSquared = dx * dx + dy * dy;
  let t = lengthSquared === 0 ? 0 : ((px - ax) * dx + (py - ay) * dy) / lengthSquared;
  t = Math.max(0, Math.min(1, t));
  return Math.hypot(px - (ax + t * dx), py - (ay + t * dy));
}

/**
 * Where the segment p→q meets the segment a→b, as the fraction along p→q, or null when they do
 * not meet (parallel segments count as not meeting: a touch along an edge has no single point).
 */
export function segmentIntersection(
  px: number, py: number, qx: number, qy: number,
  ax: number, ay: number, bx: number, by: number,
): number | null {
  const rx = qx - px;
  const ry = qy - py;
  const sx = bx - ax;
  const sy = by - ay;
  const denominator = rx * sy - ry * sx;
  if (denominator === 0) return null;
  const t = ((ax - px) * sy - (ay - py) * sx) / denominator;
  const u = ((ax - px) * ry - (ay - py) * rx) / denominator;
  return t >= 0 && t <= 1 && u >= 0 && u <= 1 ? t : null;
}

/** A difference of longitudes brought into -180..180: the short way round. */
export function wrapLongitude(dLon: number): number {
  return dLon > 180 ? dLon - 360 : dLon < -180 ? dLon + 360 : dLon;
}

/**
 * The stretch [t0, t1] of the line p + t·d (t unbounded) inside the disc of radius r around c,
 * or null when the line misses it.
 */
export function lineDiskInterval(px: number, py: number, dx: number, dy: number, cx: number, cy: number, r: number): [number, number] | null {
  const ox = px - cx, oy = py - cy;
  const a = dx * dx + dy * dy;
  const b = 2 * (ox * dx + oy * dy);
  const c = ox * ox + oy * oy - r * r;
  const discriminant = b * b - 4 * a * c;
  if (a === 0 || discriminant < 0) return null;
  const root = Math.sqrt(discriminant);
  return [(-b - root) / (2 * a), (-b + root) / (2 * a)];
}

/** Great-circle distance in metres (haversine), for circles and trip distances. */
export function haversineMetres(lat1: number, lon1: number, lat2: number, lon2: number): number {
  const toRad = Math.PI / 180;
  const dLat = (lat2 - lat1) * toRad;
  const dLon = (lon2 - lon1) * toRad;
  const a = Math.sin(dLat / 2) ** 2 + Math.cos(lat1 * toRad) * Math.cos(lat2 * toRad) * Math.sin(dLon / 2) ** 2;
  return 2 * 6_371_008.8 * Math.asin(Math.min(1, Math.sqrt(a)));
}
