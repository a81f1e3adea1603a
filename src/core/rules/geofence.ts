import type { InsideGeofence } from '../device-state.js';
import { appliesTo, byRank, type Geofence } from '../geometry/geofence.js';
import type { GeofenceIndex } from '../geometry/geofence-index.js';
import { derivedEvent, type DerivedEvent } from '../event.js';
import { seconds, type Rule } from '../rule.js';

/**
 * geofence.enter / leave / dwell / crossed, after Tile38's fenceMatch: compare the set of
 * geofences the device was inside with the set covering the new fix.
 * - A device inside a fence with `hysteresis_m` (else the tenant's `geofenceHysteresisM`)
 *   leaves only once it is farther than that outside the boundary, so GPS jitter on the edge
 *   does not flap.
 * - `crossed`: the straight line from the previous fix passes through a fence that neither fix
 *   is inside (sparse reporting); entry and exit times are interpolated along it.
 * - geofence.change: the device's zone (the highest-ranked fence it is inside: priority, then
 *   the smaller area) is another after this fix; from or to null when it was or is in none.
 * - A fence deleted while the device was inside is forgotten without an event, and so is one
 *   that no longer applies to the device (properties.device_tags, after its tags changed).
 */
export const geofenceRule: Rule = {
  name: 'geofence',
  apply({ fix, state, containing, index, rules }) {
    const { tenantId, deviceId } = fix;
    const events: DerivedEvent[] = [];
    const inside: Record<string, InsideGeofence> = {};
    const base = (id: string, name: string) => ({ geofence_id: id, geofence_name: name, lat: fix.lat, lon: fix.lon, speed: fix.speed });
    const coveringIds = new Set(containing.map((g) => g.id));

    for (const [id, was] of Object.entries(state.inside)) {
      const geofence = index.get(id);
      // Deleted, or no longer for this device (its tags changed): forgotten, like a deleted one.
      if (geofence === undefined || !appliesTo(geofence, state.tags)) continue;
      const hysteresisM = geofence.hysteresisM ?? rules.geofenceHysteresisM;
      const stillInside = coveringIds.has(id) || (hysteresisM > 0 && geofence.shape.distanceToBoundary(fix.lon, fix.lat) <= hysteresisM);
      const dwellSeconds = seconds(was.enteredAt, fix.ts);
      if (!stillInside) {
        events.push(derivedEvent(tenantId, deviceId, 'geofence.leave', fix.ts, { ...base(id, geofence.name), dwell_seconds: dwellSeconds }, id));
        continue;
      }
      let dwellSent = was.dwellSent;
      if (!dwellSent && geofence.dwellS !== null && dwellSeconds >= geofence.dwellS) {
        events.push(derivedEvent(tenantId, deviceId, 'geofence.dwell', fix.ts, { ...base(id, geofence.name), dwell_seconds: dwellSeconds }, id));
        dwellSent = true;
      }
      inside[id] = { ...was, dwellSent, name: geofence.name };
    }

    for (const geofence of containing) {
      if (geofence.id in state.inside) continue;
      events.push(derivedEvent(tenantId, deviceId, 'geofence.enter', fix.ts, base(geofence.id, geofence.name), geofence.id));
      inside[geofence.id] = { enteredAt: fix.ts, dwellSent: false, name: geofence.name };
    }

    const previous = state.lastFix;
    if (previous !== null) {
      const span = fix.ts - previous.ts;
      const skip = (g: Geofence) => g.id in state.inside || coveringIds.has(g.id) || !appliesTo(g, state.tags);
      for (const crossing of index.crossedBy(previous.lon, previous.lat, fix.lon, fix.lat, skip)) {
        const id = crossing.geofence.id;
        events.push(derivedEvent(tenantId, deviceId, 'geofence.crossed', fix.ts, {
          geofence_id: id,
          geofence_name: crossing.geofence.name,
          entered_at: new Date(previous.ts + Math.round(crossing.enteredAt * span)).toISOString(),
          left_at: new Date(previous.ts + Math.round(crossing.leftAt * span)).toISOString(),
        }, id));
      }
    }
    const zone = zoneOf(inside, index);
    const was = state.zone ?? null;
    if (zone?.id !== (was ?? undefined)) {
      events.push(derivedEvent(tenantId, deviceId, 'geofence.change', fix.ts, {
        from_geofence_id: was, from_geofence_name: was === null ? null : (index.get(was)?.name ?? state.inside[was]?.name ?? null),
        to_geofence_id: zone?.id ?? null, to_geofence_name: zone?.name ?? null, lat: fix.lat, lon: fix.lon,
      }, `${was ?? ''}>${zone?.id ?? ''}`));
    }
    return { state: { inside, zone: zone?.id ?? null }, events };
  },
};

/** The highest-ranked of the geofences the device is inside (byRank), or null when it is in none. */
function zoneOf(inside: Readonly<Record<string, InsideGeofence>>, index: GeofenceIndex): Geofence | null {
  let zone: Geofence | null = null;
  for (const id in inside) {
    const geofence = index.get(id);
    if (geofence !== undefined && (zone === null || byRank(geofence, zone) < 0)) zone = geofence;
  }
  return zone;
}
