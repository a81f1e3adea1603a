import { derivedEvent } from '../event.js';
import { NO_CHANGE, type Rule } from '../rule.js';

/**
 * device.heartbeat at most once per device per `heartbeatIntervalS` of fix time, counted from
 * the device's first fix (so a fleet's first day does not open with one per device), carrying the
 * latest position, odometer and fix time. The time of the last one is in the checkpointed
 * state, so a restart neither repeats nor skips one.
 */
export const heartbeatRule: Rule = {
  name: 'heartbeat',
  apply({ fix, state, rules }) {
    if (rules.heartbeatIntervalS <= 0) return NO_CHANGE;
    const last = state.heartbeatAt;
    if (last === null) return { state: { heartbeatAt: fix.ts }, events: [] };
    if (fix.ts - last < rules.heartbeatIntervalS * 1000) return NO_CHANGE;
    return {
      state: { heartbeatAt: fix.ts },
      events: [derivedEvent(fix.tenantId, fix.deviceId, 'device.heartbeat', fix.ts, {
        last_seen_at: new Date(fix.ts).toISOString(), lat: fix.lat, lon: fix.lon,
        odometer: fix.odometer ?? state.lastFix?.odometer ?? null,
      })],
    };
  },
};
