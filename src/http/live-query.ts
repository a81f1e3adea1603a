import { MAX_GEODESIC_M, type Box, type DeviceFilter, type DeviceIndex, type LiveDevice } from '../core/geometry/device-index.js';
import type { Shape } from '../core/geometry/shape.js';
import { isValidToken } from '../core/token.js';
import { ApiError } from './api-error.js';
import { timeParameter } from './pagination.js';
import type { Page } from '../core/page.js';

/** The query parameters of GET /v1/devices that the live index answers (the rest page through the table). */
export const LIVE_PARAMETERS = ['near', 'radius_m', 'nearest', 'bbox', 'within', 'seen_since', 'tag'] as const;
/** A `near` circle's largest radius: past it, a query would read most of a fleet. */
export const MAX_RADIUS_M = 1_000_000;
/** `nearest` without a limit. */
export const DEFAULT_NEAREST = 5;

const DECIMAL = '-?\\d{1,3}(\\.\\d{1,15})?';
const LAT_LON = new RegExp(`^(${DECIMAL}),(${DECIMAL})$`);
const BBOX = new RegExp(`^(${DECIMAL}),(${DECIMAL}),(${DECIMAL}),(${DECIMAL})$`);

/** What a live query selects: one place, and filters on the devices found there. */
export type LiveSelection =
  | { readonly kind: 'near'; readonly lat: number; readonly lon: number; readonly radiusM: number }
  | { readonly kind: 'nearest'; readonly lat: number; readonly lon: number; readonly k: number }
  | { readonly kind: 'bbox'; readonly box: Box }
  | { readonly kind: 'within'; readonly geofenceId: string }
  | { readonly kind: 'all' };

export interface LiveQuery {
  readonly selection: LiveSelection;
  /** Epoch ms: only devices whose latest fix is at or after it; null keeps all. */
  readonly seenSince: number | null;
  /** Only devices with this tag; null keeps all. */
  readonly tag: string | null;
}

const quoted = (raw: unknown): string => JSON.stringify(raw)?.slice(0, 60) ?? String(raw);

function latitude(name: string, value: number): number {
  if (!(value >= -90 && value <= 90)) throw new ApiError('invalid_request', `${name}: latitude ${value} is out of range (-90 to 90)`);
  return value;
}

function longitude(name: string, value: number): number {
  if (!(value >= -180 && value <= 180)) throw new ApiError('invalid_request', `${name}: longitude ${value} is out of range (-180 to 180)`);
  return value;
}

function point(name: string, raw: unknown): { lat: number; lon: number } {
  const match = typeof raw === 'string' ? LAT_LON.exec(raw) : null;
  if (match === null) throw new ApiError('invalid_request', `${name} must be LAT,LON in decimal degrees, got ${quoted(raw)}`);
  return { lat: latitude(name, Number(match[1])), lon: longitude(name, Number(match[3])) };
}

function radius(raw: unknown): number {
  const metres = typeof raw === 'string' && /^\d{1,7}(\.\d{1,6})?$/.test(raw) ? Number(raw) : Number.NaN;
  if (!(metres > 0 && metres <= MAX_RADIUS_M)) throw new ApiError('invalid_request', `radius_m must be metres above 0 and at most ${MAX_RADIUS_M}, got ${quoted(raw)}`);
  return metres;
}

function box(raw: unknown): Box {
  const match = typeof raw === 'string' ? BBOX.exec(raw) : null;
  if (match === null) throw new ApiError('invalid_request', `bbox must be MINLON,MINLAT,MAXLON,MAXLAT in decimal degrees, got ${quoted(raw)}`);
  const [west, south, east, north] = [match[1], match[3], match[5], match[7]].map(Number) as [number, number, number, number];
  longitude('bbox', west);
  longitude('bbox', east);
  if (latitude('bbox', south) > latitude('bbox', north)) throw new ApiError('invalid_request', `bbox: MINLAT ${south} is above MAXLAT ${north}`);
  // West beyond east is a box across the antimeridian, as in GeoJSON.
  return [west, south, east, north];
}

function nearestCount(raw: unknown, max: number): number {
  if (raw === undefined) return DEFAULT_NEAREST;
  const n = typeof raw === 'string' && /^\d{1,6}$/.test(raw) ? Number(raw) : Number.NaN;
  if (!(n >= 1)) throw new ApiError('invalid_request', `limit must be a whole number of devices, at least 1, got ${quoted(raw)}`);
  return Math.min(n, max);
}

/** True when GET /v1/devices was given a parameter of the live index. */
export function isLiveQuery(query: Record<string, unknown>): boolean {
  return LIVE_PARAMETERS.some((name) => query[name] !== undefined);
}

/** The live query the parameters ask for; a 400 naming the parameter that is malformed or out of place. */
export function parseLiveQuery(query: Record<string, unknown>, maxLimit: number): LiveQuery {
  const selectors = (['near', 'nearest', 'bbox', 'within'] as const).filter((name) => query[name] !== undefined);
  if (selectors.length > 1) throw new ApiError('invalid_request', `${selectors.join(' and ')} do not combine: give one of near, nearest, bbox and within`);
  if (query.radius_m !== undefined && query.near === undefined) throw new ApiError('invalid_request', 'radius_m is the radius of near: give near=LAT,LON with it');
  const since = timeParameter(query, 'seen_since');
  const seenSince = since === null ? null : Date.parse(since);
  const selection = ((): LiveSelection => {
    switch (selectors[0]) {
      case 'near':
        if (query.radius_m === undefined) throw new ApiError('invalid_request', 'near needs radius_m (metres)');
        return { kind: 'near', ...point('near', query.near), radiusM: radius(query.radius_m) };
      case 'nearest':
        if (query.offset !== undefined) throw new ApiError('invalid_request', 'nearest answers the limit nearest devices in one page: offset does not apply');
        return { kind: 'nearest', ...point('nearest', query.nearest), k: nearestCount(query.limit, maxLimit) };
      case 'bbox':
        return { kind: 'bbox', box: box(query.bbox) };
      case 'within':
        if (typeof query.within !== 'string' || !isValidToken(query.within)) throw new ApiError('invalid_request', `within must be a geofence id, got ${quoted(query.within)}`);
        return { kind: 'within', geofenceId: query.within };
      default:
        return { kind: 'all' };
    }
  })();
  const tag = query.tag === undefined ? null : query.tag;
  if (tag !== null && (typeof tag !== 'string' || !isValidToken(tag))) throw new ApiError('invalid_request', `tag must be a token of 1-64 characters of A-Z a-z 0-9 _ -, got ${quoted(tag)}`);
  return { selection, seenSince, tag };
}

/** A device as a live query answers it: `distance_m` (geodesic, metres) with near and nearest. */
export function liveDeviceAnswer(device: LiveDevice, distanceM?: number): Record<string, unknown> {
  return {
    id: device.deviceId,
    tags: device.tags,
    last_position: {
      ts: new Date(device.ts).toISOString(), lat: device.lat, lon: device.lon, speed: device.speed, heading: device.heading, ignition: device.ignition,
    },
    ...(distanceM === undefined ? {} : { distance_m: Math.round(distanceM * 1000) / 1000 }),
  };
}

/** Every device the query selects, in its order (nearest first, else by id), as answered. */
export function runLiveQuery(index: DeviceIndex, query: LiveQuery, shape: Shape | null): Record<string, unknown>[] {
  const { seenSince: since, tag } = query;
  const keep: DeviceFilter = (device) => (since === null || device.ts >= since) && (tag === null || device.tags.includes(tag));
  const { selection } = query;
  switch (selection.kind) {
    case 'near':
      return index.near(selection.lat, selection.lon, Math.min(selection.radiusM, MAX_GEODESIC_M), keep).map((n) => liveDeviceAnswer(n.device, n.distanceM));
    case 'nearest':
      return index.nearest(selection.lat, selection.lon, selection.k, keep).map((n) => liveDeviceAnswer(n.device, n.distanceM));
    case 'bbox':
      return index.inBox(selection.box, keep).map((d) => liveDeviceAnswer(d));
    case 'within':
      return shape === null ? [] : index.within(shape, keep).map((d) => liveDeviceAnswer(d));
    case 'all':
      return index.inBox([-180, -90, 180, 90], keep).map((d) => liveDeviceAnswer(d));
  }
}

/** A page of a live answer, as CountedRows. */
export function pageOf<T>(rows: readonly T[], page: Page): { count: number; rows: T[] } {
  return { count: rows.length, rows: rows.slice(page.offset, page.offset + page.limit) };
}
