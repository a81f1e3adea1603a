import area from '@turf/area';
import type { Geometry } from 'geojson';
import { isValidToken } from '../token.js';
import { inSchedule, parseSchedule, type Schedule } from '../schedule.js';
import type { Rings } from './prepared-polygon.js';
import { ringCrossing } from './ring-crossing.js';
import { CorridorShape } from './corridor.js';
import { CircleShape, PolygonShape, type Shape } from './shape.js';

/** A geofence as the engine uses it (contract section 4). */
export interface Geofence {
  readonly tenantId: string;
  readonly id: string;
  readonly name: string;
  /** km/h; null when the geofence sets no limit. */
  readonly speedLimit: number | null;
  readonly tags: readonly string[];
  /** A device inside leaves only once it is more than this many metres outside; null: the tenant's default. */
  readonly hysteresisM: number | null;
  /** Seconds inside before `geofence.dwell`; null for no dwell event. */
  readonly dwellS: number | null;
  /** properties.device_tags: the geofence applies only to devices with at least one of them; null: to every device. */
  readonly deviceTags: readonly string[] | null;
  /** properties.schedule: events and the speed limit apply only to fixes in its windows; null: always. */
  readonly schedule: Schedule | null;
  /** properties.confirm_s: seconds a device must stay inside (outside) before enter (leave) is derived; null: at once. */
  readonly confirmS: number | null;
  /** properties.priority (0 by default): where zones overlap, the highest one is the device's zone and sets the speed limit. */
  readonly priority: number;
  /** Square metres on the ellipsoid's authalic sphere (turf's area): of two zones of one priority, the smaller ranks higher. */
  readonly areaM2: number;
  readonly shape: Shape;
}

export interface GeofenceError {
  readonly code: 'invalid_geofence';
  readonly message: string;
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const fail = (message: string): GeofenceError => ({ code: 'invalid_geofence', message });

function position(value: unknown, where: string): readonly number[] | GeofenceError {
  if (!Array.isArray(value) || value.length < 2 || !value.every((n) => typeof n === 'number' && Number.isFinite(n))) {
    return fail(`${where} must be a [lon, lat] pair of finite numbers`);
  }
  const [lon, lat] = value as number[];
  if ((lon as number) < -180 || (lon as number) > 360 || (lat as number) < -90 || (lat as number) > 90) {
    return fail(`${where} [${lon}, ${lat}] is out of range (lon -180..180, lat -90..90)`);
  }
  return value as number[];
}

function rings(value: unknown, where: string): Rings | GeofenceError {
  if (!Array.isArray(value) || value.length === 0) return fail(`${where} must be a non-empty array of linear rings`);
  const result: (readonly number[])[][] = [];
  for (const [r, ring] of value.entries()) {
    if (!Array.isArray(ring) || ring.length < 4) return fail(`${where}[${r}] must be a closed ring of at least 4 positions`);
    const points: (readonly number[])[] = [];
    for (const [p, raw] of ring.entries()) {
      const point = position(raw, `${where}[${r}][${p}]`);
      if ('code' in point) return point;
      points.push(point);
    }
    const first = points[0] as readonly number[];
    const last = points[points.length - 1] as readonly number[];
    if (first[0] !== last[0] || first[1] !== last[1]) return fail(`${where}[${r}] is not closed: its first and last positions differ`);
    result.push(points);
  }
  return result;
}

function optionalNumber(properties: Json, key: string, min: number): number | null | GeofenceError {
  const value = properties[key];
  if (value === undefined || value === null) return null;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min) return fail(`properties.${key} must be a number >= ${min}`);
  return value;
}

/** Refuses a polygon whose edges cross; `where` names it in the message. */
function checkedPolygon(polygon: Rings, where: string, checkCrossings: boolean): Rings | GeofenceError {
  const crossing = checkCrossings ? ringCrossing(polygon) : null;
  return crossing === null ? polygon : fail(`${where} is self-intersecting: ${crossing}`);
}

/** A LineString's positions: at least two. */
function line(value: unknown, where: string): (readonly number[])[] | GeofenceError {
  if (!Array.isArray(value) || value.length < 2) return fail(`${where} must be a line of at least 2 positions`);
  const points: (readonly number[])[] = [];
  for (const [p, raw] of value.entries()) {
    const point = position(raw, `${where}[${p}]`);
    if ('code' in point) return point;
    points.push(point);
  }
  return points;
}

/** A LineString or MultiLineString with properties.width_m: the band of that width around it. */
function corridorOf(coordinates: unknown, multi: boolean, properties: Json): Shape | GeofenceError {
  const width = properties.width_m;
  if (typeof width !== 'number' || !Number.isFinite(width) || width <= 0 || width > MAX_CORRIDOR_WIDTH_M) {
    return fail(`a LineString geofence (a corridor) needs properties.width_m, its width in metres, above 0 and at most ${MAX_CORRIDOR_WIDTH_M}`);
  }
  const raw = multi ? coordinates : [coordinates];
  if (!Array.isArray(raw) || raw.length === 0) return fail('geometry.coordinates must be a non-empty array of lines');
  const lines: (readonly number[])[][] = [];
  for (const [i, value] of raw.entries()) {
    const parsed = line(value, multi ? `geometry.coordinates[${i}]` : 'geometry.coordinates');
    if ('code' in parsed) return parsed;
    lines.push(parsed);
  }
  return new CorridorShape(lines, width);
}

function shapeOf(geometry: unknown, properties: Json, checkCrossings: boolean): Shape | GeofenceError {
  if (!isObject(geometry)) return fail('geometry must be a GeoJSON Polygon, MultiPolygon, Point with radius_m, or LineString or MultiLineString with width_m');
  switch (geometry.type) {
    case 'Polygon': {
      const parsed = rings(geometry.coordinates, 'geometry.coordinates');
      const polygon = 'code' in parsed ? parsed : checkedPolygon(parsed, 'geometry', checkCrossings);
      return 'code' in polygon ? polygon : new PolygonShape([polygon]);
    }
    case 'MultiPolygon': {
      if (!Array.isArray(geometry.coordinates) || geometry.coordinates.length === 0) return fail('geometry.coordinates must be a non-empty array of polygons');
      const polygons: Rings[] = [];
      for (const [i, raw] of geometry.coordinates.entries()) {
        const parsed = rings(raw, `geometry.coordinates[${i}]`);
        const polygon = 'code' in parsed ? parsed : checkedPolygon(parsed, `geometry.coordinates[${i}]`, checkCrossings);
        if ('code' in polygon) return polygon;
        polygons.push(polygon);
      }
      return new PolygonShape(polygons);
    }
    case 'Point': {
      const center = position(geometry.coordinates, 'geometry.coordinates');
      if ('code' in center) return center;
      const radius = properties.radius_m;
      if (typeof radius !== 'number' || !Number.isFinite(radius) || radius <= 0) {
        return fail('a Point geofence needs properties.radius_m, a positive number of metres');
      }
      return new CircleShape(center[0] as number, center[1] as number, radius);
    }
    case 'LineString':
    case 'MultiLineString':
      return corridorOf(geometry.coordinates, geometry.type === 'MultiLineString', properties);
    default:
      return fail(`geometry.type ${JSON.stringify(geometry.type)} is not supported; use Polygon, MultiPolygon, Point with radius_m, or LineString or MultiLineString with width_m`);
  }
}

/**
 * Builds a geofence from a GeoJSON Feature. `fallbackId` is used when `properties.id` is absent
 * (the caller generates one). Returns an error value naming the offending member. Input is
 * checked for crossing edges (`checkCrossings`); geofences already stored were checked then.
 */
export function geofenceFromFeature(tenantId: string, feature: unknown, fallbackId: string, checkCrossings = false): Geofence | GeofenceError {
  if (!isObject(feature) || feature.type !== 'Feature') return fail('a geofence must be a GeoJSON Feature');
  const properties = feature.properties === undefined || feature.properties === null ? {} : feature.properties;
  if (!isObject(properties)) return fail('properties must be an object');
  const id = properties.id ?? fallbackId;
  if (typeof id !== 'string' || !isValidToken(id)) return fail('properties.id must be 1-64 characters of [A-Za-z0-9_-]');
  const name = properties.name ?? id;
  if (typeof name !== 'string') return fail('properties.name must be a string');
  const tags = properties.tags ?? [];
  if (!Array.isArray(tags) || !tags.every((t) => typeof t === 'string')) return fail('properties.tags must be an array of strings');
  const speedLimit = optionalNumber(properties, 'speed_limit', 0);
  if (speedLimit !== null && typeof speedLimit === 'object') return speedLimit;
  const hysteresis = optionalNumber(properties, 'hysteresis_m', 0);
  if (hysteresis !== null && typeof hysteresis === 'object') return hysteresis;
  const dwell = optionalNumber(properties, 'dwell_s', 1);
  if (dwell !== null && typeof dwell === 'object') return dwell;
  const deviceTags = properties.device_tags ?? null;
  if (deviceTags !== null && (!Array.isArray(deviceTags) || deviceTags.length === 0 || !deviceTags.every((t) => typeof t === 'string' && isValidToken(t)))) {
    return fail('properties.device_tags must be a non-empty array of device tags (tokens of 1-64 characters of [A-Za-z0-9_-])');
  }
  const schedule = properties.schedule === undefined || properties.schedule === null ? null : parseSchedule(properties.schedule);
  if (typeof schedule === 'string') return fail(schedule);
  const confirm = optionalNumber(properties, 'confirm_s', 0);
  if (confirm !== null && typeof confirm === 'object') return confirm;
  const priority = properties.priority ?? 0;
  if (typeof priority !== 'number' || !Number.isInteger(priority) || Math.abs(priority) > MAX_PRIORITY) return fail(`properties.priority must be a whole number from -${MAX_PRIORITY} to ${MAX_PRIORITY}`);
  const shape = shapeOf(feature.geometry, properties, checkCrossings);
  if ('code' in shape) return shape;
  const areaM2 = shapeArea(shape, feature.geometry as Geometry);
  return { tenantId, id, name, speedLimit, tags: tags as string[], hysteresisM: hysteresis, dwellS: dwell, schedule, confirmS: confirm === 0 ? null : confirm, deviceTags: deviceTags as string[] | null, priority, areaM2, shape };
}

const MAX_PRIORITY = 1_000_000;
/** The widest corridor: wider, a line is better drawn as the polygon it stands for. */
export const MAX_CORRIDOR_WIDTH_M = 100_000;

/** Square metres: a circle's, a corridor's (its length times its width, ends aside), a polygon's (turf). */
function shapeArea(shape: Shape, geometry: Geometry): number {
  if (shape instanceof CircleShape) return Math.PI * shape.radiusM ** 2;
  if (shape instanceof CorridorShape) return shape.lengthM * shape.widthM;
  return area(geometry);
}

/**
 * Which of two zones ranks higher where they overlap: the higher priority, then the smaller
 * area, then the smaller id (so that the order is total): negative when `a` does.
 */
export function byRank(a: Geofence, b: Geofence): number {
  return b.priority - a.priority || a.areaM2 - b.areaM2 || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** True when the geofence is in force at this instant (its schedule's windows; always without one). */
export function inForce(geofence: Geofence, ts: number): boolean {
  return geofence.schedule === null || inSchedule(geofence.schedule, ts);
}

/** True when the geofence applies to a device with these tags (properties.device_tags). */
export function appliesTo(geofence: Geofence, deviceTags: readonly string[] | undefined): boolean {
  const wanted = geofence.deviceTags;
  if (wanted === null) return true;
  return deviceTags !== undefined && deviceTags.some((tag) => wanted.includes(tag));
}

/** Of the geofences, those that apply to a device with these tags (the same array when all do). */
export function targetedTo(geofences: Geofence[], deviceTags: readonly string[] | undefined): Geofence[] {
  return geofences.every((g) => g.deviceTags === null) ? geofences : geofences.filter((g) => appliesTo(g, deviceTags));
}

export function isGeofenceError(value: Geofence | GeofenceError): value is GeofenceError {
  return 'code' in value;
}
