import type { InsideGeofence } from '../device-state.js';
import { appliesTo, byRank, inForce, type Geofence } from '../geometry/geofence.js';
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
 * - `confirm_s`: a device must be inside (outside) that long before enter (leave) is derived,
 *   at the time of its first fix inside (outside); a crossing shorter than that is no crossing.
 * - `schedule`: events only for fixes in a window. Containment is tracked all the time; a device
 *   inside when a window opens (closes) gets enter (leave) at its first fix after, marked
 *   window_opened (window_closed), so that enter and leave stay paired. A crossing counts when
 *   it entered in a window.
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
      if (!stillInside) {
        // With confirm_s, the leave waits until the device has been outside that long, and then
        // takes the time of its first fix outside.
        const since = was.leavingSince ?? fix.ts;
        if (!confirmed(geofence, since, fix.ts)) {
          inside[id] = { ...was, leavingSince: since, name: geofence.name };
          continue;
        }
        // A visit while the schedule was closed was never reported: it ends without a leave.
        if (was.unreported !== true) events.push(derivedEvent(tenantId, deviceId, 'geofence.leave', since, { ...base(id, geofence.name), dwell_seconds: seconds(was.enteredAt, since), ...confirmation(geofence, fix.ts) }, id));
        continue;
      }
      // A schedule's window opened or closed while the device was inside: the visit as reported
      // begins or ends with the first fix on the other side of it, so enter and leave stay paired.
      const open = inForce(geofence, fix.ts);
      if (was.unreported === true) {
        if (open) {
          events.push(derivedEvent(tenantId, deviceId, 'geofence.enter', fix.ts, { ...base(id, geofence.name), window_opened: true }, id));
          inside[id] = { enteredAt: fix.ts, dwellSent: false, name: geofence.name };
        } else {
          inside[id] = { enteredAt: was.enteredAt, dwellSent: false, name: geofence.name, unreported: true };
        }
        continue;
      }
      if (!open) {
        events.push(derivedEvent(tenantId, deviceId, 'geofence.leave', fix.ts, { ...base(id, geofence.name), dwell_seconds: seconds(was.enteredAt, fix.ts), window_closed: true }, id));
        inside[id] = { enteredAt: fix.ts, dwellSent: false, name: geofence.name, unreported: true };
        continue;
      }
      const dwellSeconds = seconds(was.enteredAt, fix.ts);
      let dwellSent = was.dwellSent;
      if (!dwellSent && geofence.dwellS !== null && dwellSeconds >= geofence.dwellS) {
        events.push(derivedEvent(tenantId, deviceId, 'geofence.dwell', fix.ts, { ...base(id, geofence.name), dwell_seconds: dwellSeconds }, id));
        dwellSent = true;
      }
      inside[id] = { enteredAt: was.enteredAt, dwellSent, name: geofence.name };
    }

    const entering: Record<string, number> = {};
    for (const geofence of containing) {
      if (geofence.id in state.inside) continue;
      // With confirm_s, the enter waits until the device has been inside that long (a fix
      // outside meanwhile starts it over), and then takes the time of its first fix inside.
      const since = state.entering?.[geofence.id] ?? fix.ts;
      if (!confirmed(geofence, since, fix.ts)) {
        entering[geofence.id] = since;
        continue;
      }
      if (!inForce(geofence, fix.ts)) {
        // Inside while the schedule is closed: tracked, so that its opening reports it, not told.
        inside[geofence.id] = { enteredAt: since, dwellSent: false, name: geofence.name, unreported: true };
        continue;
      }
      events.push(derivedEvent(tenantId, deviceId, 'geofence.enter', since, { ...base(geofence.id, geofence.name), ...confirmation(geofence, fix.ts) }, geofence.id));
      inside[geofence.id] = { enteredAt: since, dwellSent: false, name: geofence.name };
    }

    const previous = state.lastFix;
    if (previous !== null) {
      const span = fix.ts - previous.ts;
      const skip = (g: Geofence) => g.id in state.inside || coveringIds.has(g.id) || (state.entering?.[g.id] !== undefined) || !appliesTo(g, state.tags);
      for (const crossing of index.crossedBy(previous.lon, previous.lat, fix.lon, fix.lat, skip)) {
        const id = crossing.geofence.id;
        // A crossing shorter than confirm_s is the brief visit confirm_s is there to ignore.
        if (!confirmed(crossing.geofence, 0, (crossing.leftAt - crossing.enteredAt) * span)) continue;
        if (!inForce(crossing.geofence, previous.ts + Math.round(crossing.enteredAt * span))) continue;
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
    return { state: { inside, zone: zone?.id ?? null, entering }, events };
  },
};

/** True when a change that began at `since` has lasted the geofence's confirm_s by `now` (at once without one). */
function confirmed(geofence: Geofence, since: number, now: number): boolean {
  return geofence.confirmS === null || now - since >= geofence.confirmS * 1000;
}

/** With confirm_s, an event says when it was confirmed (its own time is the first fix's). */
function confirmation(geofence: Geofence, now: number): { confirmed_at?: string } {
  return geofence.confirmS === null ? {} : { confirmed_at: new Date(now).toISOString() };
}

/** The highest-ranked of the geofences the device is inside (byRank), or null when it is in none. */
function zoneOf(inside: Readonly<Record<string, InsideGeofence>>, index: GeofenceIndex): Geofence | null {
  let zone: Geofence | null = null;
  for (const id in inside) {
    if (inside[id]?.unreported === true) continue;
    const geofence = index.get(id);
    if (geofence !== undefined && (zone === null || byRank(geofence, zone) < 0)) zone = geofence;
  }
  return zone;
}
