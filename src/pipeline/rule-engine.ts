import { INITIAL_STATE, type DeviceState, type DeviceStateRow } from '../core/device-state.js';
import type { DerivedEvent } from '../core/event.js';
import { COMMAND_EVENTS, TIMER_EVENTS } from '../core/event-sources.js';
import { emptyHistory, historyBase, recordMark, type DeviceHistory } from '../core/device-history.js';
import { rebuildHistory, takeFix, type FixOutcome } from '../core/late-fixes.js';
import type { RuleFailure } from '../core/process-fix.js';
import { rulesForTags, type RuleConfig } from '../core/rule-config.js';
import type { RuleSource } from '../core/rule-source.js';
import { deviceKey, type DevicePosition, type Fix } from '../core/fix.js';
import type { DeviceTagging, DriverAssignment, InboundSubmission, RouteAssignment } from '../core/commands.js';
import { NO_CHANGE } from '../core/rule.js';
import { DeviceTable } from './device-table.js';

export interface EngineOutcome {
  readonly events: DerivedEvent[];
  /** The slot of the device's new state, or null when the fix was stale and changed nothing (its events: position.recorded at most). */
  readonly slot: number | null;
  readonly failures: RuleFailure[];
  /** For a fix: in order, a correction of the history, a duplicate, or too late to correct anything. */
  readonly outcome?: FixOutcome;
  /** Fixes a correction ran through the rules again. */
  readonly replayed?: number;
}

const UNCHANGED: Omit<EngineOutcome, 'events'> = { slot: null, failures: [] };

/** Fixes of history a device keeps for late fixes by default (LATE_FIX_HISTORY). */
export const DEFAULT_LATE_FIX_HISTORY = 64;

/**
 * Holds every known device's rule state in memory (packed, in a DeviceTable) and runs fixes
 * through the pure core. Fixes must come in stream order; the caller commits the returned events
 * with the batch and checkpoints the states of the slots that changed. One engine per partition,
 * held by the partition's one owner.
 */
export class RuleEngine {
  private readonly table: DeviceTable;
  /** Each device's recent fixes, by slot, for late fixes (src/core/late-fixes.ts). */
  private readonly histories = new Map<number, DeviceHistory>();

  /** `historyFixes`: the fixes of history each device keeps, the cap on a late fix's correction. */
  constructor(private readonly source: RuleSource, initial: Iterable<DeviceStateRow> = [], private readonly historyFixes = DEFAULT_LATE_FIX_HISTORY) {
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
    return this.patch(tenantId, deviceId, before, change.state, change.events);
  }

  /** A dispatcher's tags for a device: they replace its tags (no event). */
  setTags(tagging: DeviceTagging): EngineOutcome {
    const { tenantId, deviceId } = tagging;
    const before = this.stateOf(tenantId, deviceId);
    const tags = [...new Set(tagging.tags)].sort();
    if ((before.tags ?? []).join('\u0000') === tags.join('\u0000')) return { events: [], ...UNCHANGED };
    return this.patch(tenantId, deviceId, before, { tags });
  }

  /** A dispatcher's route for a device (no event: deviation from it starts over). */
  assignRoute(assignment: RouteAssignment): EngineOutcome {
    const { tenantId, deviceId, routeId } = assignment;
    const before = this.stateOf(tenantId, deviceId);
    const change = COMMAND_EVENTS.assignRoute(before, routeId);
    if (change === NO_CHANGE) return { events: [], ...UNCHANGED };
    return this.patch(tenantId, deviceId, before, change.state);
  }

  /** A device's state with `patch` over it, kept in its place in the device's history. */
  private patch(tenantId: string, deviceId: string, before: DeviceState, patch: Partial<DeviceState>, events: readonly DerivedEvent[] = []): EngineOutcome {
    const slot = this.table.set({ tenantId, deviceId, state: { ...before, ...patch } });
    this.mark(slot, before, patch);
    return { events: [...events], slot, failures: [] };
  }

  /** Runs a fix through the rules: in order, or, late, in its place in the device's history. */
  process(fix: Fix, receivedAt: number): EngineOutcome {
    const known = this.table.slotOf(fix.tenantId, fix.deviceId);
    const before = known === undefined ? INITIAL_STATE : this.table.state(known);
    const kept = known === undefined ? undefined : this.histories.get(known);
    const history = kept ?? emptyHistory();
    const { index, rules } = this.source.forTenant(fix.tenantId);
    const taken = takeFix(history, before, fix, { index, rules, receivedAt }, this.historyFixes);
    const { events, outcome, replayed } = taken;
    if (outcome === 'duplicate' || outcome === 'too_late') return { events, ...UNCHANGED, outcome };
    const slot = this.table.set({ tenantId: fix.tenantId, deviceId: fix.deviceId, state: taken.state });
    // The map changes only when a device gains or loses its history, not with every fix.
    if (kept === undefined && history.entries.length > 0) this.histories.set(slot, history);
    else if (kept !== undefined && history.entries.length === 0) this.histories.delete(slot);
    return { events, slot, failures: taken.failures, outcome, replayed };
  }

  /** A state change no fix made, kept in its place in the device's history. */
  private mark(slot: number, before: DeviceState, patch: Partial<DeviceState>): void {
    const history = this.histories.get(slot);
    if (history !== undefined) recordMark(history, before, patch);
  }

  rulesFor(tenantId: string): RuleConfig {
    return this.source.rulesFor(tenantId);
  }

  /** The states in these slots, as rows to checkpoint, each with its history's base. */
  rows(slots: Iterable<number>): DeviceStateRow[] {
    return Array.from(slots, (slot) => {
      const history = this.histories.get(slot);
      return { ...this.table.row(slot), historyBase: history === undefined ? null : historyBase(history) };
    });
  }

  /**
   * A new owner's histories: each checkpointed device with a base gets its history back from the
   * fixes stored after it (`fixes`, by device and fix time). Resolves to the devices restored.
   */
  restoreHistories(rows: readonly DeviceStateRow[], fixes: readonly Fix[]): number {
    const byDevice = new Map<string, Fix[]>();
    for (const fix of fixes) {
      const key = deviceKey(fix.tenantId, fix.deviceId);
      let list = byDevice.get(key);
      if (list === undefined) byDevice.set(key, (list = []));
      list.push(fix);
    }
    let restored = 0;
    for (const row of rows) {
      if (row.historyBase === undefined || row.historyBase === null) continue;
      const { index, rules } = this.source.forTenant(row.tenantId);
      const rebuilt = rebuildHistory(row.historyBase, row.state, byDevice.get(deviceKey(row.tenantId, row.deviceId)) ?? [], { index, rules }, this.historyFixes);
      if (rebuilt === null || rebuilt.history.entries.length === 0) continue;
      const slot = this.table.set({ tenantId: row.tenantId, deviceId: row.deviceId, state: rebuilt.state });
      this.histories.set(slot, rebuilt.history);
      restored++;
    }
    return restored;
  }

  /** The latest positions of the devices in these slots (each has had a fix), with the geofences each is inside. */
  positions(slots: Iterable<number>): DevicePosition[] {
    const positions: DevicePosition[] = [];
    for (const slot of slots) {
      const fix = this.table.lastFix(slot);
      if (fix === null) continue;
      const { tenantId, deviceId } = this.table.device(slot);
      const inside: Record<string, number> = {};
      for (const [id, { enteredAt, unreported }] of Object.entries(this.table.inside(slot))) if (unreported !== true) inside[id] = enteredAt;
      positions.push({ tenantId, deviceId, ts: fix.ts, lat: fix.lat, lon: fix.lon, speed: fix.speed, heading: fix.heading ?? null, ignition: fix.ignition, inside, tags: this.table.tags(slot), routeId: this.table.routeId(slot) });
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
      const swept = TIMER_EVENTS.offline(row.tenantId, row.deviceId, row.state, nowMs, rulesForTags(this.source.rulesFor(row.tenantId), row.state.tags));
      if (swept.events.length === 0) continue;
      this.table.set({ ...row, state: swept.state });
      this.mark(slot, row.state, { offlineSince: swept.state.offlineSince });
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
