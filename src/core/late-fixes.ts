import type { DeviceState } from './device-state.js';
import { emptyHistory, recordFix, recordMark, sinceSnapshot, SNAPSHOT_EVERY, type DeviceHistory, type Entry, type HistoryBase } from './device-history.js';
import { derivedEvent, type DerivedEvent } from './event.js';
import type { Fix } from './fix.js';
import { processFix, type ProcessContext, type RuleFailure } from './process-fix.js';

/**
 * Late fixes, corrected: a device's recent history in fix-time order, so that a fix older than
 * its device's newest is run through the rules in its place and the events after it derived
 * again. What the corrected history derives and the old did not is emitted (`late`); what the
 * old derived and the corrected no longer does is retracted (event.retracted); what both derive
 * keeps its id (ids depend on device, type, fix time and geofence, not on arrival) and is left
 * alone. So the events are a function of the set of fixes, whatever order they came in.
 */

type Correction =
  /** As old as a fix of the history: a duplicate, stored once and nothing else. */
  | { readonly outcome: 'duplicate' }
  /** Older than the history reaches (the window, the cap, or a restart): stored, nothing else. */
  | { readonly outcome: 'too_late' }
  | {
    readonly outcome: 'corrected';
    /** The device's state after the corrected history. */
    readonly state: DeviceState;
    /** Retractions, then the new events (late: true), each in fix-time order. */
    readonly events: DerivedEvent[];
    readonly failures: RuleFailure[];
    /** Fixes run through the rules again, the late one included: the correction's cost. */
    readonly replayed: number;
  };

/**
 * Runs a late fix through the rules in its place in the history, and the fixes after it again.
 * `current`: the device's state now (its lastReceivedAt is kept: the device was heard now).
 * `ctx` gives the geofences and rules, as they are now, for every fix replayed.
 */
function correct(history: DeviceHistory, current: DeviceState, fix: Fix, receivedAt: number, ctx: Omit<ProcessContext, 'receivedAt'>): Correction {
  const { entries } = history;
  // From the end: a late fix is most often only a little late.
  let at = entries.length;
  while (at > 0) {
    const entry = entries[at - 1] as Entry;
    if (entry.kind === 'fix') {
      if (entry.fix.ts === fix.ts) return { outcome: 'duplicate' };
      if (entry.fix.ts < fix.ts) break;
    }
    at--;
  }
  if (at === 0) {
    // Before every fix of the history: only when the state before the first is older still.
    const first = entries[0];
    const base = first?.before?.lastFix;
    if (first === undefined || base === undefined || (base !== null && base.ts >= fix.ts)) return { outcome: 'too_late' };
  }
  let from = Math.min(at, entries.length - 1);
  while (from > 0 && (entries[from] as Entry).before === null) from--;
  let state = (entries[from] as Entry).before as DeviceState;
  for (let i = from; i < at; i++) state = replay(entries[i] as Entry, state, ctx).state;

  const old = entries.slice(at);
  const corrected: Entry[] = [{ kind: 'fix', fix, receivedAt, events: [], before: null }, ...old];
  const failures: RuleFailure[] = [];
  // Taken before the replay, which gives the same entries their new events.
  const oldEvents = old.flatMap((entry) => (entry.kind === 'fix' ? entry.events : []));
  const oldIds = new Set(oldEvents.map((event) => event.id));
  const newIds = new Set<string>();
  const emitted: DerivedEvent[] = [];
  let replayed = 0;
  let sinceLast = sinceSnapshot(entries, at);
  corrected.forEach((entry) => {
    entry.before = sinceLast >= SNAPSHOT_EVERY ? state : null;
    sinceLast = entry.before === null ? sinceLast + 1 : 1;
    const result = replay(entry, state, ctx);
    state = result.state;
    if (entry.kind !== 'fix') return;
    replayed++;
    failures.push(...result.failures);
    entry.events = result.events;
    for (const event of result.events) {
      newIds.add(event.id);
      if (!oldIds.has(event.id)) emitted.push({ ...event, late: true });
    }
  });
  const retractions = oldEvents.filter((event) => !newIds.has(event.id)).map((event) => retraction(event, fix));
  entries.splice(at, old.length, ...corrected);
  const heard = Math.max(current.lastReceivedAt ?? receivedAt, receivedAt);
  // Retractions first: a consumer that keeps a state undoes before it applies.
  return { outcome: 'corrected', state: { ...state, lastReceivedAt: heard }, events: [...retractions, ...emitted], failures, replayed };
}

function replay(entry: Entry, state: DeviceState, ctx: Omit<ProcessContext, 'receivedAt'>): { state: DeviceState; events: DerivedEvent[]; failures: RuleFailure[] } {
  if (entry.kind === 'mark') return { state: { ...state, ...entry.patch }, events: [], failures: [] };
  const result = processFix(state, entry.fix, { ...ctx, receivedAt: entry.receivedAt });
  return result.stale ? { state, events: [], failures: [] } : result;
}

/**
 * event.retracted for an event the corrected history no longer derives. Named by the event and
 * the late fix that corrected it: the same correction after a crash is the same retraction.
 */
export function retraction(event: DerivedEvent, late: Fix): DerivedEvent {
  return derivedEvent(event.tenantId, event.deviceId, 'event.retracted', late.ts, {
    retracted_id: event.id, retracted_type: event.type, reason: 'late_fix',
  }, `${event.id}:${late.ts}`);
}

/** What became of a fix: taken in order, a duplicate, too late to correct anything, or a correction. */
export type FixOutcome = 'in_order' | 'duplicate' | 'too_late' | 'corrected';

export interface TakenFix {
  readonly state: DeviceState;
  readonly events: DerivedEvent[];
  readonly failures: RuleFailure[];
  readonly outcome: FixOutcome;
  /** Fixes run through the rules again by a correction (0 otherwise). */
  readonly replayed: number;
}

/**
 * One fix of a device, whatever its age: newer than the device's newest, it runs through the
 * rules and joins the history; older but within the tenant's `lateFixWindowS` and the history,
 * it corrects the history; a duplicate changes nothing; older still, it changes nothing and is
 * reported by position.recorded where the tenant opted in (as processFix does for stale fixes).
 * `maxFixes`: the history's cap per device.
 */
export function takeFix(history: DeviceHistory, state: DeviceState, fix: Fix, ctx: ProcessContext, maxFixes: number): TakenFix {
  const newest = state.lastFix?.ts ?? Number.NEGATIVE_INFINITY;
  const windowMs = ctx.rules.lateFixWindowS * 1000;
  if (fix.ts > newest) {
    const result = processFix(state, fix, ctx);
    recordFix(history, state, fix, ctx.receivedAt, result.events, { windowMs, maxFixes });
    return { state: result.state, events: result.events, failures: result.failures, outcome: 'in_order', replayed: 0 };
  }
  const correction: Correction = fix.ts === newest ? { outcome: 'duplicate' } : newest - fix.ts > windowMs ? { outcome: 'too_late' } : correct(history, state, fix, ctx.receivedAt, ctx);
  if (correction.outcome === 'corrected') return { ...correction, outcome: 'corrected' };
  const stale = processFix(state, fix, ctx);
  return { state, events: stale.events, failures: [], outcome: correction.outcome, replayed: 0 };
}

/**
 * A device's history as a new owner rebuilds it: from the checkpointed base through the stored
 * fixes from its time on, in fix-time order, with the checkpoint's driver and offline state put in as a
 * mark after the fixes the checkpoint had seen (assignments and device.offline are not fixes).
 * Null when the stored fixes do not reach the checkpoint (retention deleted them): the device
 * then starts without history.
 */
export function rebuildHistory(
  base: HistoryBase, checkpointed: DeviceState, fixes: readonly Fix[], ctx: Omit<ProcessContext, 'receivedAt'>, maxFixes: number,
): { history: DeviceHistory; state: DeviceState } | null {
  const history = emptyHistory();
  const seen = checkpointed.lastFix?.ts ?? Number.NEGATIVE_INFINITY;
  const receivedAt = checkpointed.lastReceivedAt ?? 0;
  let state = base.state;
  let marked = false;
  const mark = () => {
    marked = true;
    if (state.driverId === checkpointed.driverId && state.offlineSince === checkpointed.offlineSince) return;
    const patch = { driverId: checkpointed.driverId, offlineSince: checkpointed.offlineSince };
    recordMark(history, state, patch);
    state = { ...state, ...patch };
  };
  for (const fix of fixes) {
    if (fix.ts < base.from) continue;
    if (!marked && fix.ts > seen) mark();
    state = takeFix(history, state, fix, { ...ctx, receivedAt }, maxFixes).state;
  }
  if (!marked) mark();
  if ((state.lastFix?.ts ?? Number.NEGATIVE_INFINITY) < seen) return null;
  return { history, state: { ...state, lastReceivedAt: checkpointed.lastReceivedAt } };
}
