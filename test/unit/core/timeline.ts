import type { Fix } from '../../../src/core/fix.js';
import { INITIAL_STATE, type DeviceState } from '../../../src/core/device-state.js';
import type { DerivedEvent } from '../../../src/core/event.js';
import { geofenceFromFeature, isGeofenceError, type Geofence } from '../../../src/core/geometry/geofence.js';
import { GeofenceIndex } from '../../../src/core/geometry/geofence-index.js';
import { processFix } from '../../../src/core/process-fix.js';
import { RULES } from '../../../src/core/event-sources.js';
import type { Rule } from '../../../src/core/rule.js';
import { DEFAULT_RULES, type RuleConfig } from '../../../src/core/rule-config.js';

/** Seconds after this instant label the fixes of a timeline. */
export const T0 = Date.parse('2026-11-22T08:00:00Z');

/** One row of a timeline: seconds after T0, a position, and whatever else the fix reports. */
export type Row = { t: number; lat: number; lon: number }
  & Partial<Pick<Fix, 'speed' | 'ignition' | 'odometer' | 'attributes' | 'driverId' | 'postedSpeedLimit'>>;

export function fence(id: string, geometry: unknown, properties: Record<string, unknown> = {}): Geofence {
  const g = geofenceFromFeature('acme', { type: 'Feature', properties: { id, name: id, ...properties }, geometry }, id);
  if (isGeofenceError(g)) throw new Error(g.message);
  return g;
}

export function fix(row: Row): Fix {
  return {
    tenantId: 'acme', deviceId: 'veh-1', ts: T0 + row.t * 1000, lat: row.lat, lon: row.lon, speed: row.speed ?? null,
    heading: null, altitude: null, accuracy: null, satellites: null, ignition: row.ignition ?? null, odometer: row.odometer ?? null,
    attributes: row.attributes ?? null, driverId: row.driverId, postedSpeedLimit: row.postedSpeedLimit,
  };
}

export interface TimelineResult {
  /** `[t, type]` per event but geofence.change, t in seconds after T0. */
  readonly events: [number, string][];
  /** Those events whole. */
  readonly all: DerivedEvent[];
  /** The geofence.change events, apart: most timelines are about other rules. */
  readonly zoneChanges: DerivedEvent[];
  readonly state: DeviceState;
}

/** Runs rows through the rules, as the processor would, and lists the events by fix time. */
export function run(rows: Row[], geofences: Geofence[] = [], rules: Partial<RuleConfig> = {}, state: DeviceState = INITIAL_STATE, ruleList: readonly Rule[] = RULES): TimelineResult {
  const index = new GeofenceIndex(geofences);
  const ctx = { index, rules: { ...DEFAULT_RULES, ...rules }, receivedAt: T0 };
  const all: DerivedEvent[] = [];
  for (const row of rows) {
    const result = processFix(state, fix(row), { ...ctx, receivedAt: T0 + row.t * 1000 }, ruleList);
    state = result.state;
    all.push(...result.events);
  }
  const others = all.filter((e) => e.type !== 'geofence.change');
  return { events: others.map((e) => [(e.occurredAt - T0) / 1000, e.type]), all: others, zoneChanges: all.filter((e) => e.type === 'geofence.change'), state };
}

/** Metres north of a latitude, in degrees. */
export const north = (metres: number) => metres / 111_320;
