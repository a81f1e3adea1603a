import type { Fix } from './fix.js';
import type { DeviceState } from './device-state.js';
import type { DerivedEvent } from './event.js';
import type { GeofenceIndex } from './geometry/geofence-index.js';
import type { Rule } from './rule.js';
import { rulesForTags, type RuleConfig } from './rule-config.js';
import { targetedTo } from './geometry/geofence.js';
import { recordedEvent } from './rules/position.js';
import { RULES } from './event-sources.js';

export interface ProcessContext {
  readonly index: GeofenceIndex;
  readonly rules: RuleConfig;
  /** Receiver clock when the fix was processed (epoch ms), for the offline sweep. */
  readonly receivedAt: number;
}

export interface RuleFailure {
  readonly rule: string;
  readonly error: unknown;
}

export interface ProcessResult {
  readonly state: DeviceState;
  readonly events: DerivedEvent[];
  /**
   * True when the fix was older than (or as old as) the device's newest: stored, and reported by
   * position.recorded where the tenant opted in (unless as old: a duplicate, not stored), nothing else.
   */
  readonly stale: boolean;
  /** Rules that threw: the others still ran (Traccar's BaseEventHandler). */
  readonly failures: RuleFailure[];
}

/**
 * Runs one fix through every rule. The one place that drops stale fixes and isolates a
 * throwing rule: its part of the state stays as it was, the other rules go on.
 */
export function processFix(state: DeviceState, fix: Fix, ctx: ProcessContext, rules: readonly Rule[] = RULES): ProcessResult {
  if (state.lastFix !== null && fix.ts <= state.lastFix.ts) {
    const late = fix.ts < state.lastFix.ts && ctx.rules.positionRecorded;
    return { state, events: late ? [recordedEvent(fix)] : [], stale: true, failures: [] };
  }
  // The device's tags, as its state holds them at this fix, pick the geofences that apply to it
  // and the tenant's rule override for it (tags change in stream order, like a driver).
  const containing = targetedTo(ctx.index.containing(fix.lon, fix.lat), state.tags);
  const input = { fix, state, containing, index: ctx.index, rules: rulesForTags(ctx.rules, state.tags) };
  // Every rule sees the state before the fix and answers with the part it owns: the parts are
  // merged once, in rule order, into one new state (not a copy per rule).
  const next: { -readonly [K in keyof DeviceState]: DeviceState[K] } = { ...state };
  const events: DerivedEvent[] = [];
  const failures: RuleFailure[] = [];
  for (const rule of rules) {
    try {
      const output = rule.apply(input);
      Object.assign(next, output.state);
      for (const event of output.events) events.push(event);
    } catch (error) {
      failures.push({ rule: rule.name, error });
    }
  }
  next.lastFix = {
    ts: fix.ts, lat: fix.lat, lon: fix.lon, speed: fix.speed, heading: fix.heading,
    ignition: fix.ignition ?? state.lastFix?.ignition ?? null, odometer: fix.odometer ?? state.lastFix?.odometer ?? null,
  };
  next.lastReceivedAt = ctx.receivedAt;
  return { state: next, events, stale: false, failures };
}
