import { INITIAL_STATE, type DeviceStateRow } from '../core/device-state.js';
import type { DerivedEvent } from '../core/event.js';
import { sweepOffline } from '../core/offline-sweep.js';
import { processFix, type RuleFailure } from '../core/process-fix.js';
import type { RuleConfig } from '../core/rule-config.js';
import type { RuleSource } from '../core/rule-source.js';
import { deviceKey, type Fix } from '../core/fix.js';
import { driverChange } from '../core/rules/driver.js';
import type { DriverAssignment } from '../decode/message.js';

export interface EngineOutcome {
  readonly events: DerivedEvent[];
  /** The device's new state, or null when the fix was stale and changed nothing (its events: position.recorded at most). */
  readonly state: DeviceStateRow | null;
  readonly failures: RuleFailure[];
}

/**
 * Holds every known device's rule state in memory and runs fixes through the pure core. Fixes
 * must come in stream order; the caller commits the returned events with the batch and
 * checkpoints the states. One engine per partition, held by the partition's one owner.
 */
export class RuleEngine {
  private readonly states: Map<string, DeviceStateRow>;

  constructor(private readonly source: RuleSource, initial: Iterable<DeviceStateRow> = []) {
    this.states = new Map([...initial].map((row) => [deviceKey(row.tenantId, row.deviceId), row]));
  }

  get deviceCount(): number {
    return this.states.size;
  }

  /** A dispatcher's driver assignment, at the time the stream stored it. */
  assignDriver(assignment: DriverAssignment, at: number): EngineOutcome {
    const { tenantId, deviceId, driverId } = assignment;
    const key = deviceKey(tenantId, deviceId);
    const before = this.states.get(key)?.state ?? INITIAL_STATE;
    const change = driverChange(tenantId, deviceId, before, driverId, at, 'api');
    if (change.events.length === 0) return { events: [], state: null, failures: [] };
    const row = { tenantId, deviceId, state: { ...before, ...change.state } };
    this.states.set(key, row);
    return { events: [...change.events], state: row, failures: [] };
  }

  process(fix: Fix, receivedAt: number): EngineOutcome {
    const key = deviceKey(fix.tenantId, fix.deviceId);
    const before = this.states.get(key)?.state ?? INITIAL_STATE;
    const { index, rules } = this.source.forTenant(fix.tenantId);
    const result = processFix(before, fix, { index, rules, receivedAt });
    if (result.stale) return { events: result.events, state: null, failures: [] };
    const row = { tenantId: fix.tenantId, deviceId: fix.deviceId, state: result.state };
    this.states.set(key, row);
    return { events: result.events, state: row, failures: result.failures };
  }

  rulesFor(tenantId: string): RuleConfig {
    return this.source.rulesFor(tenantId);
  }

  /** device.offline for every device silent past its tenant's timeout. */
  sweep(nowMs: number): { events: DerivedEvent[]; states: DeviceStateRow[] } {
    const events: DerivedEvent[] = [];
    const states: DeviceStateRow[] = [];
    for (const [key, row] of this.states) {
      const swept = sweepOffline(row.tenantId, row.deviceId, row.state, nowMs, this.source.rulesFor(row.tenantId));
      if (swept.events.length === 0) continue;
      const updated = { ...row, state: swept.state };
      this.states.set(key, updated);
      events.push(...swept.events);
      states.push(updated);
    }
    return { events, states };
  }
}
