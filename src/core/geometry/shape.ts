import { haversineMetres, lineDiskInterval, metresPerDegreeLon, METRES_PER_DEGREE, wrapLongitude } from './planar.js';
import { PreparedPolygon, type BBox, type CellClassification, type Rings } from './prepared-polygon.js';

/** A piece of a shape with its own box: one polygon of a MultiPolygon, or a circle. */
export interface ShapePart {
  readonly bbox: BBox;
  /** A polygon's coarse cell grid, which answers most points without an edge. */
  readonly classification: CellClassification | null;
  covers(lon: number, lat: number): boolean;
}

/** The geometry of a geofence, whatever its kind. */
export interface Shape {
  /** The parts to index, each under its box (a part across the antimeridian appears twice). */
  readonly parts: readonly ShapePart[];
  /** Inside or on the boundary. */
  covers(lon: number, lat: number): boolean;
  /** Metres from the point to the nearest boundary. */
  distanceToBoundary(lon: number, lat: number): number;
  /** Sorted fractions along the segment where it crosses the boundary. */
  crossings(lon1: number, lat1: number, lon2: number, lat2: number): number[];
}

/** Splits a box whose longitudes run past 180 into the two parts either side of the antimeridian. */
export function splitAtAntimeridian(bbox: BBox): BBox[] {
  if (bbox.maxLon <= 180) return [bbox];
  return [
    { ...bbox, maxLon: 180 },
    { ...bbox, minLon: -180, maxLon: bbox.maxLon - 360 },
  ];
}

/** A Polygon or MultiPolygon: any of its polygons covers the point. */
export class PolygonShape implements Shape {
  private readonly polygons: PreparedPolygon[];
  readonly parts: ShapePart[];

  /** Takes polygons as rings, or already prepared (in a worker thread, see geometry-thread.ts). */
  constructor(polygons: readonly (Rings | PreparedPolygon)[]) {
    this.polygons = polygons.map((p) => (p instanceof PreparedPolygon ? p : new PreparedPolygon(p)));
    this.parts = this.polygons.flatMap((polygon) => splitAtAntimeridian(polygon.bbox).map((bbox) => ({ bbox, classification: polygon.classification(), covers: (lon: number, lat: number) => polygon.covers(lon, lat) })));
  }

  /** The prepared polygons, to send to another thread (they clone; the parts' closures do not). */
  prepared(): readonly PreparedPolygon[] {
    return this.polygons;
  }

  covers(lon: number, lat: number): boolean {
    for (const polygon of this.polygons) if (polygon.covers(lon, lat)) return true;
    return false;
  }

  distanceToBoundary(lon: number, lat: number): number {
    let best = Infinity;
    for (const polygon of this.polygons) best = Math.min(best, polygon.distanceToBoundary(lon, lat));
    return best;
  }

  crossings(lon1: number, lat1: number, lon2: number, lat2: number): number[] {
    return this.polygons.flatMap((p) => p.crossings(lon1, lat1, lon2, lat2)).sort((a, b) => a - b);
  }
}

/** A circle: a Point with `radius_m`. */
export class CircleShape implements Shape {
  readonly parts: ShapePart[];

  constructor(readonly lon: number, readonly lat: number, readonly radiusM: number) {
    const dLat = radiusM / METRES_PER_DEGREE;
    const dLon = radiusM / Math.max(1e-9, metresPerDegreeLon(Math.min(89.9, Math.abs(lat) + dLat)));
    const bbox = { minLon: lon - dLon, minLat: lat - dLat, maxLon: lon + dLon, maxLat: lat + dLat };
    const boxes = bbox.minLon < -180 ? splitAtAntimeridian({ ...bbox, minLon: bbox.minLon + 360, maxLon: bbox.maxLon + 360 }) : splitAtAntimeridian(bbox);
    this.parts = boxes.map((box) => ({ bbox: box, classification: null, covers: (lon: number, lat: number) => this.covers(lon, lat) }));
  }

  covers(lon: number, lat: number): boolean {
    return haversineMetres(this.lat, this.lon, lat, lon) <= this.radiusM;
  }

  distanceToBoundary(lon: number, lat: number): number {
    return Math.abs(haversineMetres(this.lat, this.lon, lat, lon) - this.radiusM);
  }

  crossings(lon1: number, lat1: number, lon2: number, lat2: number): number[] {
    // In metres around the centre: where p + t (q - p) is within r of it, for t in [0, 1].
    const kx = metresPerDegreeLon(this.lat);
    const px = wrapLongitude(lon1 - this.lon) * kx, py = (lat1 - this.lat) * METRES_PER_DEGREE;
    const qx = wrapLongitude(lon2 - this.lon) * kx, qy = (lat2 - this.lat) * METRES_PER_DEGREE;
    const stretch = lineDiskInterval(px, py, qx - px, qy - py, 0, 0, this.radiusM);
    return stretch === null ? [] : stretch.filter((t) => t >= 0 && t <= 1);
  }
}
