import type { DeviceState } from './device-state.js';
import type { DerivedEvent } from './event.js';
import type { Fix } from './fix.js';

/**
 * A device's recent history in fix-time order, for late fixes (src/core/late-fixes.ts): its
 * fixes with the events each derived, the state changes no fix made in their places, and the
 * state before every SNAPSHOT_EVERY-th entry. Bounded by the tenant's window and a cap on fixes.
 */

/** A fix of the history, with the events it derived as the history now stands. */
export interface FixEntry {
  readonly kind: 'fix';
  readonly fix: Fix;
  /** When it was received: a replay gives each fix its own, so that it derives what it did. */
  readonly receivedAt: number;
  events: readonly DerivedEvent[];
  /** The device's state before this entry, kept on every SNAPSHOT_EVERY-th (and the first). */
  before: DeviceState | null;
}

/**
 * A change to the state that no fix made (a driver assignment, device.offline), where it
 * happened: after the fixes that were newest then. A replay applies it again as it passes.
 */
export interface MarkEntry {
  readonly kind: 'mark';
  readonly patch: Partial<DeviceState>;
  before: DeviceState | null;
}

export type Entry = FixEntry | MarkEntry;

/** One device's recent history; the engine holds one per device that has had a fix. */
export interface DeviceHistory {
  readonly entries: Entry[];
}

/** How much history a device keeps: the tenant's window, and a cap on fixes per device. */
export interface HistoryLimits {
  /** The tenant's `lateFixWindowS` in ms: 0 keeps no history (late fixes change nothing). */
  readonly windowMs: number;
  /** At most this many fixes per device: the bound on memory and on one correction's work. */
  readonly maxFixes: number;
}

/** Most fixes derive nothing: their entries share one empty list. */
const NO_EVENTS: readonly DerivedEvent[] = Object.freeze([]);

/** A snapshot of the state is kept every this many entries: a correction replays at most this many extra. */
export const SNAPSHOT_EVERY = 16;

export function emptyHistory(): DeviceHistory {
  return { entries: [] };
}

/** Records a fix taken in order (newer than every fix of the history), with its events. */
export function recordFix(history: DeviceHistory, before: DeviceState, fix: Fix, receivedAt: number, events: readonly DerivedEvent[], limits: HistoryLimits): void {
  if (limits.windowMs <= 0 || limits.maxFixes <= 0) {
    history.entries.length = 0;
    return;
  }
  const { entries } = history;
  entries.push({ kind: 'fix', fix, receivedAt, events: events.length === 0 ? NO_EVENTS : events, before: snapshotDue(entries) ? before : null });
  trim(history, fix.ts, limits, before);
}

/**
 * How many entries back from `end` the nearest snapshot before it is, SNAPSHOT_EVERY when none
 * is that near: an entry at `end` takes a snapshot when this reaches SNAPSHOT_EVERY.
 */
export function sinceSnapshot(entries: readonly Entry[], end: number): number {
  for (let i = end - 1; i >= 0 && i >= end - (SNAPSHOT_EVERY - 1); i--) if ((entries[i] as Entry).before !== null) return end - i;
  return SNAPSHOT_EVERY;
}

function snapshotDue(entries: readonly Entry[]): boolean {
  return sinceSnapshot(entries, entries.length) >= SNAPSHOT_EVERY;
}

/**
 * Records a change to the state that no fix made (a driver assignment, device.offline) after
 * the newest fix, so that a correction replays it in its place.
 */
export function recordMark(history: DeviceHistory, before: DeviceState, patch: Partial<DeviceState>): void {
  const { entries } = history;
  if (entries.length === 0) return;
  entries.push({ kind: 'mark', patch, before: snapshotDue(entries) ? before : null });
}

/**
 * Drops the oldest entries past the window or the cap, and then up to the next fix with a
 * snapshot, or up to the newest fix, which `newestBefore` (the state before it) gives one: the
 * first entry is always a fix that holds the state before it.
 */
function trim(history: DeviceHistory, newest: number, limits: HistoryLimits, newestBefore: DeviceState): void {
  const { entries } = history;
  // Most fixes drop nothing: no more entries than the cap (so no more fixes), and the first a
  // fix inside the window with its snapshot. Only then are the fixes counted.
  const first = entries[0] as Entry;
  if (entries.length <= limits.maxFixes && first.kind === 'fix' && first.before !== null && first.fix.ts >= newest - limits.windowMs) return;
  let fixes = 0;
  for (const entry of entries) if (entry.kind === 'fix') fixes++;
  const last = entries.length - 1;
  let drop = 0;
  while (drop < last) {
    const entry = entries[drop] as Entry;
    const old = entry.kind === 'fix' && (fixes > limits.maxFixes || entry.fix.ts < newest - limits.windowMs);
    if (!old && entry.kind === 'fix' && entry.before !== null) break;
    if (entry.kind === 'fix') fixes--;
    drop++;
  }
  if (drop === last) (entries[last] as Entry).before ??= newestBefore;
  if (drop > 0) entries.splice(0, drop);
}

/** Where a device's history starts: the state before its oldest fix, and that fix's time. */
export interface HistoryBase {
  readonly state: DeviceState;
  readonly from: number;
}

/**
 * Where the history starts, checkpointed with the device's state, so that a new owner can
 * rebuild the history from the fixes stored from `from` on (rebuildHistory). A fix stored
 * between the state's last fix and `from` was too late, and is left out again.
 */
export function historyBase(history: DeviceHistory): HistoryBase | null {
  const first = history.entries[0];
  return first === undefined || first.kind !== 'fix' || first.before === null ? null : { state: first.before, from: first.fix.ts };
}
