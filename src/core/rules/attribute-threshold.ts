import type { ThresholdState } from '../device-state.js';
import { derivedEvent, type DerivedEvent } from '../event.js';
import type { Fix } from '../fix.js';
import { NO_CHANGE, seconds, type Rule } from '../rule.js';
import type { AttributeThreshold } from '../rule-config.js';

type Direction = 'above' | 'below';

interface Limit {
  readonly key: string;
  readonly attribute: string;
  readonly direction: Direction;
  readonly limit: number;
  readonly minDurationS: number;
  readonly hysteresis: number;
}

function limitsOf(threshold: AttributeThreshold): Limit[] {
  const limits: Limit[] = [];
  for (const direction of ['above', 'below'] as const) {
    const limit = threshold[direction];
    if (limit !== null) limits.push({ key: `${threshold.attribute}:${direction}`, direction, limit, ...threshold });
  }
  return limits;
}

const isBeyond = (l: Limit, value: number): boolean => (l.direction === 'above' ? value > l.limit : value < l.limit);
/** Back inside by more than the hysteresis: only then does an exceeded episode clear. */
const isClear = (l: Limit, value: number): boolean => (l.direction === 'above' ? value < l.limit - l.hysteresis : value > l.limit + l.hysteresis);
const further = (l: Limit, a: number, b: number): number => (l.direction === 'above' ? Math.max(a, b) : Math.min(a, b));

/** One limit's episode after a fix reporting `value`, and the event it caused. */
function step(l: Limit, open: ThresholdState | undefined, value: number, fix: Fix): { next: ThresholdState | undefined; event: DerivedEvent | null } {
  const emit = (type: 'attribute.threshold_exceeded' | 'attribute.threshold_cleared', data: Record<string, unknown>): DerivedEvent =>
    derivedEvent(fix.tenantId, fix.deviceId, type, fix.ts, { attribute: l.attribute, value, limit: l.limit, direction: l.direction, ...data }, l.key);
  if (open === undefined || !open.exceeded) {
    // Not (yet) counted: an excursion shorter than the minimum duration leaves no trace.
    if (!isBeyond(l, value)) return { next: undefined, event: null };
    const since = open?.since ?? fix.ts;
    const extreme = open === undefined ? value : further(l, open.extreme, value);
    if (fix.ts - since < l.minDurationS * 1000) return { next: { since, exceeded: false, extreme }, event: null };
    return { next: { since, exceeded: true, extreme }, event: emit('attribute.threshold_exceeded', { lat: fix.lat, lon: fix.lon }) };
  }
  if (!isClear(l, value)) return { next: { ...open, extreme: further(l, open.extreme, value) }, event: null };
  return {
    next: undefined,
    event: emit('attribute.threshold_cleared', {
      duration_seconds: seconds(open.since, fix.ts), [l.direction === 'above' ? 'max_value' : 'min_value']: open.extreme,
    }),
  };
}

/**
 * attribute.threshold_exceeded once a numeric attribute has stayed beyond a tenant's limit for
 * the threshold's minimum duration, threshold_cleared once it is back inside by more than the
 * hysteresis (a value hovering at the limit stays exceeded). A fix that does not report the
 * attribute as a number leaves its episodes as they were; episodes of thresholds the tenant
 * removed are dropped.
 */
export const attributeThresholdRule: Rule = {
  name: 'attribute-threshold',
  apply({ fix, state, rules }) {
    const before = state.thresholds;
    if (rules.attributeThresholds.length === 0 && Object.keys(before).length === 0) return NO_CHANGE;
    const next: Record<string, ThresholdState> = {};
    const events: DerivedEvent[] = [];
    for (const threshold of rules.attributeThresholds) {
      const value = fix.attributes?.[threshold.attribute];
      for (const l of limitsOf(threshold)) {
        const open = before[l.key];
        if (typeof value !== 'number') {
          if (open !== undefined) next[l.key] = open;
          continue;
        }
        const { next: episode, event } = step(l, open, value, fix);
        if (episode !== undefined) next[l.key] = episode;
        if (event !== null) events.push(event);
      }
    }
    return { state: { thresholds: next }, events };
  },
};
