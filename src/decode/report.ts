import type { Fix } from '../core/fix.js';
import { storableText, unstorableText } from '../core/storable-text.js';
import { isRejection, reject, type Rejection } from './rejection.js';
import { isValidToken } from '../core/token.js';

/** A fix may lie at most this far ahead of the receiver's clock (device clocks drift). */
export const MAX_FUTURE_MS = 5 * 60 * 1000;
export const MAX_ATTRIBUTES = 32;

// RFC 3339 date-time: a date, `T` (or space), a time, optional fraction, then `Z` or an offset.
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;

type Fields = Record<string, unknown>;

function isPlainObject(value: unknown): value is Fields {
  if (typeof value !== 'object' || value === null) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  return Array.isArray(value) ? 'an array' : `a ${typeof value}`;
}

function parseTimestamp(value: unknown): number | Rejection {
  if (value === undefined || value === null) return reject('missing_field', 'ts is required (epoch milliseconds or RFC 3339)');
  if (typeof value === 'number' || typeof value === 'bigint') {
    const ms = Number(value);
    if (!Number.isSafeInteger(ms) || ms < 0) {
      return reject('invalid_timestamp', `ts ${describe(Number(value))} must be a non-negative whole number of epoch milliseconds`);
    }
    return ms;
  }
  if (typeof value === 'string') {
    const ms = RFC3339.test(value) ? Date.parse(value.replace(' ', 'T')) : Number.NaN;
    if (Number.isNaN(ms)) {
      return reject('invalid_timestamp', `ts ${describe(value)} is not an RFC 3339 date-time such as 2026-11-22T08:00:05Z`);
    }
    return ms;
  }
  return reject('invalid_timestamp', `ts is ${describe(value)}; send epoch milliseconds or an RFC 3339 string`);
}

function coordinate(fields: Fields, key: 'lat' | 'lon', limit: number): number | Rejection {
  const value = fields[key];
  if (value === undefined || value === null) return reject('missing_field', `${key} is required (WGS84 degrees)`);
  if (typeof value !== 'number') return reject('invalid_field', `${key} is ${describe(value)}; it must be a number`);
  if (!Number.isFinite(value)) return reject('coordinates_not_finite', `${key} is ${value}; it must be a finite number`);
  if (value < -limit || value > limit) {
    return reject('coordinates_out_of_range', `${key} ${value} is out of range [-${limit}, ${limit}]`);
  }
  return value;
}

interface NumberRule {
  readonly min?: number;
  readonly max?: number;
  readonly integer?: boolean;
  /** Stored as PostgreSQL `real`: a 32-bit float, which refuses what it would round to 0 or infinity. */
  readonly real?: boolean;
}

/** A non-zero number a 32-bit float rounds to 0 or infinity: PostgreSQL's `real` refuses it. */
function outsideReal(value: number): boolean {
  const rounded = Math.fround(value);
  return !Number.isFinite(rounded) || (rounded === 0 && value !== 0);
}

/** An optional numeric field: absent or null gives null; anything else must obey `rule`. */
function optionalNumber(fields: Fields, key: string, rule: NumberRule): number | null | Rejection {
  const value = fields[key];
  if (value === undefined || value === null) return null;
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    return reject('invalid_field', `${key} is ${describe(value)}; it must be a finite number`);
  }
  if (rule.integer && !Number.isInteger(value)) return reject('invalid_field', `${key} ${value} must be a whole number`);
  if ((rule.min !== undefined && value < rule.min) || (rule.max !== undefined && value > rule.max)) {
    return reject('invalid_field', `${key} ${value} is out of range [${rule.min ?? '-inf'}, ${rule.max ?? 'inf'}]`);
  }
  if (rule.real && outsideReal(value)) {
    return reject('invalid_field', `${key} ${value} does not fit a 32-bit float: send 0 or a magnitude between 1.4e-45 and 3.4e38`);
  }
  return value;
}

function optionalBoolean(fields: Fields, key: string): boolean | null | Rejection {
  const value = fields[key];
  if (value === undefined || value === null) return null;
  if (typeof value !== 'boolean') return reject('invalid_field', `${key} is ${describe(value)}; it must be true or false`);
  return value;
}

function attributes(fields: Fields): Fix['attributes'] | Rejection {
  const value = fields.attributes;
  if (value === undefined || value === null) return null;
  if (!isPlainObject(value)) return reject('invalid_field', `attributes is ${describe(value)}; it must be a map`);
  const keys = Object.keys(value);
  if (keys.length > MAX_ATTRIBUTES) {
    return reject('too_many_attributes', `attributes has ${keys.length} keys; at most ${MAX_ATTRIBUTES} are allowed`);
  }
  for (const key of keys) {
    const item = value[key];
    const keyProblem = unstorableText(key);
    if (keyProblem !== null) return reject('invalid_text', `an attribute name ${keyProblem}; names and values must be text PostgreSQL can store`);
    const valueProblem = typeof item === 'string' ? unstorableText(item) : null;
    if (valueProblem !== null) return reject('invalid_text', `attributes.${storableText(key)} ${valueProblem}; names and values must be text PostgreSQL can store`);
    const ok = typeof item === 'string' || typeof item === 'boolean' || (typeof item === 'number' && Number.isFinite(item));
    if (!ok) {
      return reject('invalid_field', `attributes.${key} is ${describe(item)}; values must be finite numbers, strings or booleans`);
    }
  }
  return value as Record<string, number | string | boolean>;
}

/** driver_id: absent stays undefined (the report says nothing), null means no driver. */
function driverId(fields: Fields): string | null | undefined | Rejection {
  const value = fields.driver_id;
  if (value === undefined || value === null) return value;
  if (typeof value !== 'string' || !isValidToken(value)) {
    return reject('invalid_field', `driver_id is ${describe(value)}; it must be 1-64 characters of A-Z a-z 0-9 _ - or null`);
  }
  return value;
}

/**
 * Validates one position report against contract section 1. `tenantId` and `deviceId` come from
 * the subject; `nowMs` is the receiver's clock, passed in so that this stays pure.
 */
export function decodeReport(report: unknown, tenantId: string, deviceId: string, nowMs: number): Fix | Rejection {
  if (!isPlainObject(report)) return reject('not_a_report', `a report must be a map of fields, got ${describe(report)}`);

  const ts = parseTimestamp(report.ts);
  if (isRejection(ts)) return ts;
  if (ts > nowMs + MAX_FUTURE_MS) {
    return reject('timestamp_in_future', `ts ${new Date(ts).toISOString()} is more than 5 minutes ahead of the receiver's clock`);
  }
  const lat = coordinate(report, 'lat', 90);
  if (isRejection(lat)) return lat;
  const lon = coordinate(report, 'lon', 180);
  if (isRejection(lon)) return lon;
  if (lat === 0 && lon === 0) {
    return reject('null_island', 'the fix is exactly (0, 0), which GPS receivers report when they have no fix');
  }

  const claimedDevice = report.device_id;
  if (claimedDevice !== undefined && claimedDevice !== null && claimedDevice !== deviceId) {
    return reject('device_mismatch', `device_id ${describe(claimedDevice)} does not match the subject's device "${deviceId}"`);
  }

  const speed = optionalNumber(report, 'speed', { min: 0, real: true });
  if (isRejection(speed)) return speed;
  const heading = optionalNumber(report, 'heading', { min: 0, max: 360, real: true });
  if (isRejection(heading)) return heading;
  const altitude = optionalNumber(report, 'altitude', { real: true });
  if (isRejection(altitude)) return altitude;
  const accuracy = optionalNumber(report, 'accuracy', { min: 0, real: true });
  if (isRejection(accuracy)) return accuracy;
  const satellites = optionalNumber(report, 'satellites', { min: 0, max: 32767, integer: true });
  if (isRejection(satellites)) return satellites;
  const ignition = optionalBoolean(report, 'ignition');
  if (isRejection(ignition)) return ignition;
  const odometer = optionalNumber(report, 'odometer', { min: 0 });
  if (isRejection(odometer)) return odometer;
  const attrs = attributes(report);
  if (isRejection(attrs)) return attrs;
  const driver = driverId(report);
  if (isRejection(driver)) return driver;
  const postedSpeedLimit = optionalNumber(report, 'posted_speed_limit', { min: 0 });
  if (isRejection(postedSpeedLimit)) return postedSpeedLimit;
  if (postedSpeedLimit === 0) return reject('invalid_field', 'posted_speed_limit 0 must be greater than 0 (km/h); leave it out when unknown');

  return {
    tenantId, deviceId, ts, lat, lon, speed, heading, altitude, accuracy, satellites, ignition, odometer, attributes: attrs,
    driverId: driver, postedSpeedLimit,
  };
}
