import { derivedEvent } from '../event.js';
import { NO_CHANGE, seconds, type Rule } from '../rule.js';

/**
 * idle.started once the ignition has been on and the speed under the idle threshold for the
 * idle duration; idle.ended when the device moves or the ignition goes off. A fix that does not
 * report speed or ignition leaves idling as it was.
 */
export const idleRule: Rule = {
  name: 'idle',
  apply({ fix, state, rules }) {
    const ignition = fix.ignition ?? state.lastFix?.ignition ?? null;
    if (fix.speed === null || ignition === null) return NO_CHANGE;
    const idling = ignition && fix.speed < rules.idleSpeedKmh;
    const { since, started } = state.idle;

    if (!idling) {
      if (since === null) return NO_CHANGE;
      const events = started
        ? [derivedEvent(fix.tenantId, fix.deviceId, 'idle.ended', fix.ts, { duration_seconds: seconds(since, fix.ts) })]
        : [];
      return { state: { idle: { since: null, started: false } }, events };
    }
    const idleSince = since ?? fix.ts;
    if (!started && fix.ts - idleSince >= rules.idleMinDurationS * 1000) {
      return {
        state: { idle: { since: idleSince, started: true } },
        events: [derivedEvent(fix.tenantId, fix.deviceId, 'idle.started', fix.ts, { lat: fix.lat, lon: fix.lon })],
      };
    }
    return since === null ? { state: { idle: { since: idleSince, started: false } }, events: [] } : NO_CHANGE;
  },
};
