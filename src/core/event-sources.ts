import { sweepOffline } from './offline-sweep.js';
import type { Rule } from './rule.js';
import { attributeThresholdRule } from './rules/attribute-threshold.js';
import { driverChange, driverRule } from './rules/driver.js';
import { dvirSubmitted } from './rules/dvir.js';
import { geofenceRule } from './rules/geofence.js';
import { heartbeatRule } from './rules/heartbeat.js';
import { idleRule } from './rules/idle.js';
import { ignitionRule } from './rules/ignition.js';
import { onlineRule } from './rules/online.js';
import { overspeedRule } from './rules/overspeed.js';
import { positionRule } from './rules/position.js';
import { routeChange, routeRule } from './rules/route.js';
import { batchSummaries } from './rules/positions-batch.js';
import { tripRule } from './rules/trip.js';

// Every event fencewire derives is born in one of the four lists below, all pure functions of
// the core; the pipeline and the API call them through these names, so that this file is the
// whole catalogue of where events come from.

/**
 * Fix events: the rules, in the order they run for every fix, written down once. device.online
 * comes first so that it precedes whatever else the returning device's fix causes, then the fix
 * itself (position.recorded) and who drives; ignition before the rules that end on ignition off.
 */
export const RULES: readonly Rule[] = [
  onlineRule, positionRule, driverRule, ignitionRule, geofenceRule, routeRule, overspeedRule, idleRule, tripRule, attributeThresholdRule, heartbeatRule,
];

/** Batch events: once per committed batch (positions.batch, a tenant's summary). */
export const BATCH_EVENTS = { positionsBatch: batchSummaries } as const;

/**
 * Command events: what a request to the API causes. A driver assignment reaches the device's
 * state down its telemetry subject (driver.assigned, driver.unassigned), and so does a route
 * (no event: deviation starts over with it); an inbound dvir.* is
 * re-emitted as dvir.submitted.
 */
export const COMMAND_EVENTS = { assignDriver: driverChange, assignRoute: routeChange, inboundDvir: dvirSubmitted } as const;

/** Timer events: from the receiver's clock, with no fix behind them (device.offline). */
export const TIMER_EVENTS = { offline: sweepOffline } as const;
