import { derivedEvent } from '../event.js';
import { NO_CHANGE, type Rule } from '../rule.js';

/**
 * ignition.on / ignition.off when the reported ignition changes. A device's first known
 * ignition value is a baseline, not a change.
 */
export const ignitionRule: Rule = {
  name: 'ignition',
  apply({ fix, state }) {
    const before = state.lastFix?.ignition ?? null;
    if (fix.ignition === null || before === null || fix.ignition === before) return NO_CHANGE;
    const type = fix.ignition ? 'ignition.on' : 'ignition.off';
    return { state: {}, events: [derivedEvent(fix.tenantId, fix.deviceId, type, fix.ts, { lat: fix.lat, lon: fix.lon })] };
  },
};
