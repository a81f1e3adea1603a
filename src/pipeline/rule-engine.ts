import { INITIAL_STATE, type DeviceStateRow } from '../core/device-state.js';
import type { DerivedEvent } from '../core/event.js';
import { COMMAND_EVENTS, TIMER_EVENTS } from '../core/event-sources.js';
import { processFix, type RuleFailure } from '../core/process-fix.js';
import type { RuleConfig } from '../core/rule-config.js';
import type { RuleSource } from '../core/rule-source.js';
import type { DevicePosition, Fix } from '../core/fix.js';
import type { DriverAssignment, InboundSubmission } from '../core/commands.js';
import { DeviceTable } from './device-table.js';

export interface EngineOutcome {
  readonly events: DerivedEvent[];
  /** The slot of the device's new state, or null when the fix was stale and changed nothing (its events: position.recorded at most). */
  readonly slot: number | null;
  readonly failures: RuleFailure[];
}

const UNCHANGED: Omit<EngineOutcome, 'events'> = { slot: null, failures: [] };

/**
 * Holds every known device's rule state in memory (packed, in a DeviceTable) and runs fixes
 * through the pure core. Fixes must come in stream order; the caller commits the returned events
 * with the batch and checkpoints the states of the slots that changed. One engine per partition,
 * held by the partition's one owner.
 */
export class RuleEngine {
  private readonly table: DeviceTable;

  constructor(private readonly source: RuleSource, initial: Iterable<DeviceStateRow> = []) {
    this.table = new DeviceTable(initial);
  }

  get deviceCount(): number {
    return this.table.size;
  }

  /** An inbound dvir.* event's dvir.submitted (no device state changes). */
  inbound(submission: InboundSubmission): DerivedEvent[] {
    const { tenantId, body, receiptId, receivedAt } = submission;
    const event = COMMAND_EVENTS.inboundDvir(tenantId, body, receiptId, receivedAt);
    return event === null ? [] : [event];
  }

  /** A dispatcher's driver assignment, at the time the stream stored it. */
  assignDriver(assignment: DriverAssignment, at: number): EngineOutcome {
    const { tenantId, deviceId, driverId } = assignment;
    const before = this.stateOf(tenantId, deviceId);
    const change = COMMAND_EVENTS.assignDriver(tenantId, deviceId, before, driverId, at, 'api');
    if (change.events.length === 0) return { events: [], ...UNCHANGED };
    const slot = this.table.set({ tenantId, deviceId, state: { ...before, ...change.state } });
    return { events: [...change.events], slot, failures: [] };
  }

  process(fix: Fix, receivedAt: number): EngineOutcome {
    const before = this.stateOf(fix.tenantId, fix.deviceId);
    const { index, rules } = this.source.forTenant(fix.tenantId);
    const result = processFix(before, fix, { index, rules, receivedAt });
    if (result.stale) return { events: result.events, ...UNCHANGED };
    const slot = this.table.set({ tenantId: fix.tenantId, deviceId: fix.deviceId, state: result.state });
    return { events: result.events, slot, failures: result.failures };
  }

  rulesFor(tenantId: string): RuleConfig {
    return this.source.rulesFor(tenantId);
  }

  /** The states in these slots, as rows to checkpoint. */
  rows(slots: Iterable<number>): DeviceStateRow[] {
    return Array.from(slots, (slot) => this.table.row(slot));
  }

  /** The latest positions of the devices in these slots (each has had a fix). */
  positions(slots: Iterable<number>): DevicePosition[] {
    const positions: DevicePosition[] = [];
    for (const slot of slots) {
      const fix = this.table.lastFix(slot);
      if (fix === null) continue;
      const { tenantId, deviceId } = this.table.device(slot);
      positions.push({ tenantId, deviceId, ts: fix.ts, lat: fix.lat, lon: fix.lon, speed: fix.speed, heading: fix.heading ?? null, ignition: fix.ignition });
    }
    return positions;
  }

  /** The slot of the fix's device when that fix is the newest its state holds. */
  slotWithLatest(fix: Fix): number | undefined {
    const slot = this.table.slotOf(fix.tenantId, fix.deviceId);
    return slot !== undefined && this.table.lastFix(slot)?.ts === fix.ts ? slot : undefined;
  }

  /** device.offline for every device silent past its tenant's timeout; the slots it changed. */
  sweep(nowMs: number): { events: DerivedEvent[]; slots: number[] } {
    const events: DerivedEvent[] = [];
    const slots: number[] = [];
    for (const slot of this.table.slotsInUse()) {
      const row = this.table.row(slot);
      const swept = TIMER_EVENTS.offline(row.tenantId, row.deviceId, row.state, nowMs, this.source.rulesFor(row.tenantId));
      if (swept.events.length === 0) continue;
      this.table.set({ ...row, state: swept.state });
      events.push(...swept.events);
      slots.push(slot);
    }
    return { events, slots };
  }

  private stateOf(tenantId: string, deviceId: string) {
    const slot = this.table.slotOf(tenantId, deviceId);
    return slot === undefined ? INITIAL_STATE : this.table.state(slot);
  }
}
