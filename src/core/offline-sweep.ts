import type { DeviceState } from './device-state.js';
import { derivedEvent, type DerivedEvent } from './event.js';
import type { RuleConfig } from './rule-config.js';

/**
 * device.offline for a device that has sent nothing for the offline timeout, by the receiver's
 * clock. Run periodically over every known device, not from a fix. The event's time is the
 * moment the timeout expired, so that a sweep repeated after a crash yields the same id.
 */
export function sweepOffline(
  tenantId: string, deviceId: string, state: DeviceState, nowMs: number, rules: RuleConfig,
): { state: DeviceState; events: DerivedEvent[] } {
  if (state.offlineSince !== null || state.lastReceivedAt === null || state.lastFix === null) return { state, events: [] };
  const expiresAt = state.lastReceivedAt + rules.offlineTimeoutS * 1000;
  if (nowMs < expiresAt) return { state, events: [] };
  const event = derivedEvent(tenantId, deviceId, 'device.offline', expiresAt, { last_seen_at: new Date(state.lastFix.ts).toISOString() });
  return { state: { ...state, offlineSince: expiresAt }, events: [event] };
}
