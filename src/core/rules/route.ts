import type { DeviceState } from '../device-state.js';
import { CorridorShape } from '../geometry/corridor.js';
import { derivedEvent } from '../event.js';
import { NO_CHANGE, seconds, type Rule, type RuleOutput } from '../rule.js';

/**
 * route.deviated once a device has been outside its route (the corridor assigned to it with
 * PUT /v1/devices/{id}/route) for the tenant's routeDeviationMinS, judged on its fixes: the
 * first fix at least that long after the first one outside, with none inside between.
 * route.rejoined at its first fix inside after that. Both say how far the fix is from the
 * route's line (`distance_m`) and where along it its nearest point lies (`progress`, a fraction
 * of the line's length). A route that is not a corridor (deleted, or replaced by a polygon) is
 * left as it was until it is one again.
 */
export const routeRule: Rule = {
  name: 'route',
  apply({ fix, state, index, rules }) {
    const route = state.route ?? null;
    if (route === null) return NO_CHANGE;
    const geofence = index.get(route.routeId);
    if (geofence === undefined || !(geofence.shape instanceof CorridorShape)) return NO_CHANGE;
    const shape = geofence.shape;
    const nearest = shape.nearest(fix.lon, fix.lat);
    const data = () => ({
      route_id: route.routeId, route_name: geofence.name, distance_m: Math.round(nearest.distanceM * 10) / 10,
      progress: Math.round(nearest.progress * 10_000) / 10_000, lat: fix.lat, lon: fix.lon,
    });
    if (nearest.distanceM <= shape.halfWidthM) {
      if (route.offSince === null) return NO_CHANGE;
      const events = route.deviated
        ? [derivedEvent(fix.tenantId, fix.deviceId, 'route.rejoined', fix.ts, { ...data(), deviated_seconds: seconds(route.offSince, fix.ts) }, route.routeId)]
        : [];
      return { state: { route: { routeId: route.routeId, offSince: null, deviated: false } }, events };
    }
    const offSince = route.offSince ?? fix.ts;
    if (!route.deviated && fix.ts - offSince >= rules.routeDeviationMinS * 1000) {
      return {
        state: { route: { routeId: route.routeId, offSince, deviated: true } },
        events: [derivedEvent(fix.tenantId, fix.deviceId, 'route.deviated', fix.ts, { ...data(), off_route_since: new Date(offSince).toISOString() }, route.routeId)],
      };
    }
    return route.offSince === null ? { state: { route: { routeId: route.routeId, offSince, deviated: false } }, events: [] } : NO_CHANGE;
  },
};

/** A dispatcher's route for a device (or null: none): a new route starts with no deviation; no event. */
export function routeChange(state: DeviceState, routeId: string | null): RuleOutput {
  if ((state.route?.routeId ?? null) === routeId) return NO_CHANGE;
  return { state: { route: routeId === null ? null : { routeId, offSince: null, deviated: false } }, events: [] };
}
