import type { DeviceState } from '../device-state.js';
import { derivedEvent, type DerivedEvent } from '../event.js';
import { NO_CHANGE, type Rule, type RuleOutput } from '../rule.js';

export type DriverSource = 'device' | 'api';

/**
 * driver.assigned when a device gets a driver or another one, driver.unassigned when its driver
 * is removed; nothing when the driver stays the same.
 */
export function driverChange(
  tenantId: string, deviceId: string, state: DeviceState, driverId: string | null, at: number, source: DriverSource,
): RuleOutput {
  const previous = state.driverId;
  if (driverId === previous) return NO_CHANGE;
  const type = driverId === null ? 'driver.unassigned' : 'driver.assigned';
  const event: DerivedEvent = derivedEvent(tenantId, deviceId, type, at, { driver_id: driverId, previous_driver_id: previous, source });
  return { state: { driverId }, events: [event] };
}

/** A report's driver_id: a report that does not carry the field leaves the driver as it is. */
export const driverRule: Rule = {
  name: 'driver',
  apply({ fix, state }) {
    if (fix.driverId === undefined) return NO_CHANGE;
    return driverChange(fix.tenantId, fix.deviceId, state, fix.driverId, fix.ts, 'device');
  },
};
