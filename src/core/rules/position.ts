import type { Fix } from '../fix.js';
import { derivedEvent, type DerivedEvent } from '../event.js';
import { NO_CHANGE, type Rule } from '../rule.js';

/** position.recorded for one stored fix. */
export function recordedEvent(fix: Fix): DerivedEvent {
  return derivedEvent(fix.tenantId, fix.deviceId, 'position.recorded', fix.ts, {
    lat: fix.lat, lon: fix.lon, speed: fix.speed, heading: fix.heading, ignition: fix.ignition, attributes: fix.attributes,
  });
}

/**
 * position.recorded for every fix of a tenant that opted in (`positionRecorded`). Late fixes are
 * stored too, so processFix reports those as well, outside the rules that only see new ones.
 */
export const positionRule: Rule = {
  name: 'position',
  apply({ fix, rules }) {
    return rules.positionRecorded ? { state: {}, events: [recordedEvent(fix)] } : NO_CHANGE;
  },
};
