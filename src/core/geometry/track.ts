import simplify from '@turf/simplify';

/** Metres per degree of latitude, and of longitude at the equator (WGS84, near enough for a tolerance). */
const M_PER_DEG_LAT = 110_574;
const M_PER_DEG_LON = 111_320;

/**
 * The indices of the points of a track that Douglas-Peucker keeps at `toleranceM` metres, first
 * and last always among them: every point left out lies within the tolerance of the line through
 * those kept. Done by @turf/simplify on the track projected to metres around its middle
 * latitude, so that the tolerance means metres both ways (in degrees a tolerance would be a third
 * narrower east-west at Munich's latitude than north-south).
 */
export function simplifyTrack(points: readonly { readonly lat: number; readonly lon: number }[], toleranceM: number): number[] {
  if (points.length < 3) return points.map((_, i) => i);
  // A loop, not Math.min(...): a track may hold more points than a call takes arguments.
  let south = Number.POSITIVE_INFINITY;
  let north = Number.NEGATIVE_INFINITY;
  for (const p of points) {
    south = Math.min(south, p.lat);
    north = Math.max(north, p.lat);
  }
  const lat0 = ((south + north) / 2) * (Math.PI / 180);
  const projected = points.map((p) => [p.lon * M_PER_DEG_LON * Math.cos(lat0), p.lat * M_PER_DEG_LAT]);
  // Each projected position back to its index: the simplified line keeps some of them as they were.
  const index = new Map<string, number>();
  projected.forEach(([x, y], i) => {
    const key = `${x},${y}`;
    if (!index.has(key)) index.set(key, i);
  });
  const line = simplify({ type: 'Feature', properties: {}, geometry: { type: 'LineString', coordinates: projected } }, { tolerance: toleranceM, highQuality: true });
  const kept = line.geometry.coordinates.map(([x, y]) => index.get(`${x},${y}`) as number);
  if (kept[kept.length - 1] !== points.length - 1) kept.push(points.length - 1);
  return kept;
}
