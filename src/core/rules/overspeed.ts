import { byRank, inForce, type Geofence } from '../geometry/geofence.js';
import { derivedEvent } from '../event.js';
import { NO_CHANGE, seconds, type Rule } from '../rule.js';
import type { RuleConfig } from '../rule-config.js';

interface Limit {
  readonly limit: number;
  /** km/h over the limit before overspeed starts. */
  readonly tolerance: number;
  readonly source: 'rule' | 'geofence' | 'posted';
  readonly geofenceId: string | null;
}

/**
 * The speed_limit of the highest-ranked covering geofence that sets one (byRank: the highest
 * priority, then the smallest area), or the report's posted_speed_limit when that is stricter
 * (a tie goes to the geofence), else the tenant's rule limit.
 */
export function applicableLimit(containing: readonly Geofence[], rules: RuleConfig, posted: number | null | undefined, at: number): Limit | null {
  let zone: Geofence | null = null;
  // A geofence with a schedule limits speed only in its windows.
  for (const g of containing) if (g.speedLimit !== null && (zone === null || byRank(g, zone) < 0) && inForce(g, at)) zone = g;
  let best: Limit | null = zone === null ? null : { limit: zone.speedLimit as number, tolerance: rules.overspeedToleranceKmh, source: 'geofence', geofenceId: zone.id };
  if (posted != null && (best === null || posted < best.limit)) {
    best = { limit: posted, tolerance: rules.postedSpeedToleranceKmh, source: 'posted', geofenceId: null };
  }
  if (best !== null) return best;
  return rules.overspeedLimitKmh === null ? null : { limit: rules.overspeedLimitKmh, tolerance: rules.overspeedToleranceKmh, source: 'rule', geofenceId: null };
}

/**
 * overspeed.started once the speed has stayed above limit + tolerance for the minimum duration
 * (Traccar's OverspeedProcessor); overspeed.ended once it is back at or under the limit itself,
 * so the tolerance doubles as hysteresis. Fixes without a speed change nothing.
 */
export const overspeedRule: Rule = {
  name: 'overspeed',
  apply({ fix, state, containing, rules }) {
    if (fix.speed === null) return NO_CHANGE;
    const speed = fix.speed;
    const applicable = applicableLimit(containing, rules, fix.postedSpeedLimit, fix.ts);
    const { active, candidateSince } = state.overspeed;

    if (active !== null) {
      if (applicable !== null && speed > applicable.limit) {
        return { state: { overspeed: { candidateSince, active: { ...active, maxSpeed: Math.max(active.maxSpeed, speed) } } }, events: [] };
      }
      return {
        state: { overspeed: { candidateSince: null, active: null } },
        events: [derivedEvent(fix.tenantId, fix.deviceId, 'overspeed.ended', fix.ts, {
          max_speed: active.maxSpeed, limit: active.limit, duration_seconds: seconds(active.startedAt, fix.ts),
        })],
      };
    }

    if (applicable === null || speed <= applicable.limit + applicable.tolerance) {
      return candidateSince === null ? NO_CHANGE : { state: { overspeed: { candidateSince: null, active: null } }, events: [] };
    }
    const since = candidateSince ?? fix.ts;
    if (fix.ts - since < rules.overspeedMinDurationS * 1000) {
      return { state: { overspeed: { candidateSince: since, active: null } }, events: [] };
    }
    return {
      state: { overspeed: { candidateSince: null, active: { startedAt: since, maxSpeed: speed, limit: applicable.limit } } },
      events: [derivedEvent(fix.tenantId, fix.deviceId, 'overspeed.started', fix.ts, {
        speed, limit: applicable.limit, limit_source: applicable.source,
        ...(applicable.geofenceId === null ? {} : { geofence_id: applicable.geofenceId }),
        lat: fix.lat, lon: fix.lon,
      })],
    };
  },
};
