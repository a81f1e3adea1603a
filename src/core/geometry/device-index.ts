import geodesicLib from 'geographiclib-geodesic';
import RBush from 'rbush';
import type { DevicePosition } from '../fix.js';
import type { Shape } from './shape.js';

const { Geodesic } = geodesicLib;
const WGS84 = Geodesic.WGS84;

/**
 * The smallest radius of curvature of the WGS84 ellipsoid (meridional, at the equator): a
 * geodesic of length R moves at most R / this radians in latitude, so boxes drawn with it hold
 * every point within R.
 */
const MIN_RADIUS_M = 6_335_439;
/** Half the Earth's circumference along a meridian, rounded up: no two points are farther apart. */
export const MAX_GEODESIC_M = 20_004_000;
/** Boxes are drawn this much larger than the bound says, against rounding at their edges. */
const BOX_MARGIN = 1.01;
/** The first radius `nearest` looks in; it grows fourfold until it holds enough devices. */
const FIRST_NEAREST_M = 1000;

/** Geodesic distance on the WGS84 ellipsoid (Karney's algorithm, as PostGIS's geography uses). */
export function geodesicMetres(lat1: number, lon1: number, lat2: number, lon2: number): number {
  return WGS84.Inverse(lat1, lon1, lat2, lon2, Geodesic.DISTANCE).s12 as number;
}

/** A device's latest known position and the geofences its rule state has it inside (geofence id to entered, epoch ms). */
export type LiveDevice = Omit<DevicePosition, 'tenantId'>;

export interface Nearby {
  readonly device: LiveDevice;
  readonly distanceM: number;
}

/** A box in degrees: west, south, east, north (west > east crosses the antimeridian). */
export type Box = readonly [minLon: number, minLat: number, maxLon: number, maxLat: number];

interface Entry {
  minX: number;
  minY: number;
  maxX: number;
  maxY: number;
  device: LiveDevice;
}

/** Which devices a query keeps besides where they are (seen since, tags): true keeps. */
export type DeviceFilter = (device: LiveDevice) => boolean;

const keepAll: DeviceFilter = () => true;

function byDistance(a: Nearby, b: Nearby): number {
  return a.distanceM - b.distanceM || byId(a.device, b.device);
}

function byId(a: LiveDevice, b: LiveDevice): number {
  return a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : 0;
}

/**
 * Boxes (one, or two across the antimeridian) holding every point within `radiusM` of the
 * centre along the ellipsoid: in latitude by the smallest radius of curvature, in longitude by
 * the sphere's bound asin(sin r / cos φ) at the band's most poleward latitude.
 */
export function boxesAround(lat: number, lon: number, radiusM: number): Box[] {
  const r = Math.min(radiusM * BOX_MARGIN, MAX_GEODESIC_M) / MIN_RADIUS_M;
  const dLat = (r * 180) / Math.PI;
  const south = lat - dLat;
  const north = lat + dLat;
  if (south <= -90 || north >= 90 || r >= Math.PI / 2) return [[-180, Math.max(-90, south), 180, Math.min(90, north)]];
  const poleward = (Math.max(Math.abs(south), Math.abs(north)) * Math.PI) / 180;
  const ratio = Math.sin(r) / Math.cos(poleward);
  if (ratio >= 1) return [[-180, south, 180, north]];
  const dLon = (Math.asin(ratio) * 180 * BOX_MARGIN) / Math.PI;
  if (dLon >= 180) return [[-180, south, 180, north]];
  return unwrapBox([lon - dLon, south, lon + dLon, north]);
}

/** A box in longitudes past ±180 (or west > east) as one or two boxes inside [-180, 180]. */
export function unwrapBox([west, south, east, north]: Box): Box[] {
  const w = west < -180 ? west + 360 : west;
  const e = east > 180 ? east - 360 : east;
  if (w <= e) return [[w, south, e, north]];
  return [[w, south, 180, north], [-180, south, e, north]];
}

/**
 * One tenant's devices at their latest known positions, in an R-tree, with who is inside each
 * geofence: the answers of the API's live queries. Pure: it holds what it is given, and a
 * position older than the one it has is ignored (an announcement that arrives late).
 */
export class DeviceIndex {
  private readonly tree = new RBush<Entry>();
  private readonly entries = new Map<string, Entry>();
  /** Geofence id to its occupants: device id to the epoch ms it entered. */
  private readonly occupants = new Map<string, Map<string, number>>();

  get size(): number {
    return this.entries.size;
  }

  get(deviceId: string): LiveDevice | undefined {
    return this.entries.get(deviceId)?.device;
  }

  /**
   * A whole fleet at once, into an empty index: the R-tree is bulk-loaded (rbush's OMT load),
   * several times faster than one insert per device and a better tree. The newest position of
   * a device listed twice wins, as with put.
   */
  static of(devices: Iterable<LiveDevice>): DeviceIndex {
    const index = new DeviceIndex();
    for (const device of devices) {
      const old = index.entries.get(device.deviceId);
      if (old !== undefined && old.device.ts > device.ts) continue;
      index.entries.set(device.deviceId, { minX: device.lon, minY: device.lat, maxX: device.lon, maxY: device.lat, device });
    }
    index.tree.load([...index.entries.values()]);
    for (const { device } of index.entries.values()) index.enter(device);
    return index;
  }

  /** Keeps a device's position unless the index has a newer one; true when it was kept. */
  put(device: LiveDevice): boolean {
    const old = this.entries.get(device.deviceId);
    if (old !== undefined) {
      if (old.device.ts > device.ts) return false;
      this.tree.remove(old);
      for (const id of Object.keys(old.device.inside)) this.leave(id, device.deviceId);
    }
    const entry: Entry = { minX: device.lon, minY: device.lat, maxX: device.lon, maxY: device.lat, device };
    this.tree.insert(entry);
    this.entries.set(device.deviceId, entry);
    this.enter(device);
    return true;
  }

  /** Lists the device among the occupants of each geofence it is inside. */
  private enter(device: LiveDevice): void {
    for (const [id, enteredAt] of Object.entries(device.inside)) {
      let inside = this.occupants.get(id);
      if (inside === undefined) this.occupants.set(id, (inside = new Map()));
      inside.set(device.deviceId, enteredAt);
    }
  }

  /** Devices within `radiusM` metres (geodesic) of the point, nearest first. */
  near(lat: number, lon: number, radiusM: number, keep: DeviceFilter = keepAll): Nearby[] {
    const found: Nearby[] = [];
    for (const box of boxesAround(lat, lon, radiusM)) {
      for (const { device } of this.search(box)) {
        if (!keep(device)) continue;
        const distanceM = geodesicMetres(lat, lon, device.lat, device.lon);
        if (distanceM <= radiusM) found.push({ device, distanceM });
      }
    }
    return found.sort(byDistance);
  }

  /**
   * The `k` devices nearest the point, however far. The R-tree is searched in circles growing
   * fourfold from 1 km until one holds `k` devices (or the whole Earth): the answer is the
   * nearest `k` of that circle, and no device outside it can be nearer.
   */
  nearest(lat: number, lon: number, k: number, keep: DeviceFilter = keepAll): Nearby[] {
    if (k <= 0 || this.entries.size === 0) return [];
    for (let radiusM = FIRST_NEAREST_M; ; radiusM *= 4) {
      const within = this.near(lat, lon, Math.min(radiusM, MAX_GEODESIC_M), keep);
      if (within.length >= k || radiusM >= MAX_GEODESIC_M) return within.slice(0, k);
    }
  }

  /** Devices in the box (edges included), by id. */
  inBox(box: Box, keep: DeviceFilter = keepAll): LiveDevice[] {
    const found: LiveDevice[] = [];
    for (const part of unwrapBox(box)) for (const { device } of this.search(part)) if (keep(device)) found.push(device);
    return found.sort(byId);
  }

  /** Devices a geofence's exact shape covers (boundary included), by id: each part's box, then the part. */
  within(shape: Pick<Shape, 'parts'>, keep: DeviceFilter = keepAll): LiveDevice[] {
    const found = new Set<LiveDevice>();
    for (const part of shape.parts) {
      const { minLon, minLat, maxLon, maxLat } = part.bbox;
      for (const { device } of this.search([minLon, minLat, maxLon, maxLat])) {
        if (!found.has(device) && keep(device) && part.covers(device.lon, device.lat)) found.add(device);
      }
    }
    return [...found].sort(byId);
  }

  /** The devices the rules have inside a geofence now, with when each entered, by id. */
  inside(geofenceId: string, keep: DeviceFilter = keepAll): { device: LiveDevice; enteredAt: number }[] {
    const found: { device: LiveDevice; enteredAt: number }[] = [];
    for (const [deviceId, enteredAt] of this.occupants.get(geofenceId) ?? []) {
      const device = this.entries.get(deviceId)?.device;
      if (device !== undefined && keep(device)) found.push({ device, enteredAt });
    }
    return found.sort((a, b) => byId(a.device, b.device));
  }

  /** How many devices the rules have inside a geofence now. */
  occupancy(geofenceId: string): number {
    return this.occupants.get(geofenceId)?.size ?? 0;
  }

  private search([minX, minY, maxX, maxY]: Box): Entry[] {
    return this.tree.search({ minX, minY, maxX, maxY });
  }

  private leave(geofenceId: string, deviceId: string): void {
    const inside = this.occupants.get(geofenceId);
    if (inside === undefined) return;
    inside.delete(deviceId);
    if (inside.size === 0) this.occupants.delete(geofenceId);
  }
}
