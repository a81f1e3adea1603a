import { derivedEvent } from '../event.js';
import { NO_CHANGE, seconds, type Rule } from '../rule.js';

/** device.online: the first fix after device.offline. */
export const onlineRule: Rule = {
  name: 'online',
  apply({ fix, state }) {
    if (state.offlineSince === null) return NO_CHANGE;
    const lastTs = state.lastFix?.ts ?? fix.ts;
    return {
      state: { offlineSince: null },
      events: [derivedEvent(fix.tenantId, fix.deviceId, 'device.online', fix.ts, { offline_seconds: seconds(lastTs, fix.ts) })],
    };
  },
};
