import type { Fix } from './fix.js';
import type { DeviceState } from './device-state.js';
import type { DerivedEvent } from './event.js';
import type { Geofence } from './geometry/geofence.js';
import type { GeofenceIndex } from './geometry/geofence-index.js';
import type { RuleConfig } from './rule-config.js';

/** What every rule sees for one fix. */
export interface RuleInput {
  readonly fix: Fix;
  /** The device's state before this fix. */
  readonly state: DeviceState;
  /** The geofences covering the fix, looked up once for all rules. */
  readonly containing: readonly Geofence[];
  readonly index: GeofenceIndex;
  readonly rules: RuleConfig;
}

/** A rule's answer: the part of the state it owns, changed, and the events it derived. */
export interface RuleOutput {
  readonly state: Partial<DeviceState>;
  readonly events: readonly DerivedEvent[];
}

/** One rule or event family: pure, no clock, no I/O. */
export interface Rule {
  readonly name: string;
  apply(input: RuleInput): RuleOutput;
}

export const NO_CHANGE: RuleOutput = Object.freeze({ state: {}, events: [] });

/** Seconds between two epoch-ms instants, to the millisecond. */
export function seconds(fromMs: number, toMs: number): number {
  return Math.round(toMs - fromMs) / 1000;
}
