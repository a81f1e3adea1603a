import type { Fix } from '../fix.js';
import type { DeviceState, TripState } from '../device-state.js';
import { derivedEvent, type DerivedEvent } from '../event.js';
import { haversineMetres } from '../geometry/planar.js';
import { NO_CHANGE, seconds, type Rule } from '../rule.js';

/** Speed in km/h: reported, or else derived from the distance since the previous fix. */
function speedOf(fix: Fix, state: DeviceState): number | null {
  if (fix.speed !== null) return fix.speed;
  const previous = state.lastFix;
  if (previous === null || fix.ts <= previous.ts) return null;
  return (haversineMetres(previous.lat, previous.lon, fix.lat, fix.lon) / ((fix.ts - previous.ts) / 1000)) * 3.6;
}

function completed(fix: Fix, trip: TripState, endedAt: number, end: { lat: number; lon: number }, minKm: number): DerivedEvent[] {
  if (trip.distanceKm < minKm) return [];
  return [derivedEvent(fix.tenantId, fix.deviceId, 'trip.completed', fix.ts, {
    started_at: new Date(trip.startedAt).toISOString(),
    ended_at: new Date(endedAt).toISOString(),
    distance_km: Math.round(trip.distanceKm * 1000) / 1000,
    duration_seconds: seconds(trip.startedAt, endedAt),
    max_speed: trip.maxSpeed,
    start: trip.start,
    end,
  })];
}

/**
 * trip.completed: a trip starts when the device moves, accumulates distance and top speed, and
 * ends when the ignition goes off (at that fix) or after a long stop with the ignition on (at
 * the last moving fix). Trips shorter than the minimum distance are dropped silently.
 */
export const tripRule: Rule = {
  name: 'trip',
  apply({ fix, state, rules }) {
    const speed = speedOf(fix, state);
    const moving = speed !== null && speed >= rules.tripMovingSpeedKmh && fix.ignition !== false;
    const trip = state.trip;
    const here = { lat: fix.lat, lon: fix.lon };

    if (trip === null) {
      if (!moving) return NO_CHANGE;
      const previous = state.lastFix;
      // The trip began where the device last stood still, when that fix is known.
      const start = previous === null ? { ts: fix.ts, ...here } : { ts: previous.ts, lat: previous.lat, lon: previous.lon };
      const distanceKm = haversineMetres(start.lat, start.lon, fix.lat, fix.lon) / 1000;
      return {
        state: { trip: { startedAt: start.ts, start: { lat: start.lat, lon: start.lon }, distanceKm, maxSpeed: speed, lastMoving: { ts: fix.ts, ...here } } },
        events: [],
      };
    }

    const last = state.lastFix ?? { lat: fix.lat, lon: fix.lon };
    const updated: TripState = {
      ...trip,
      distanceKm: trip.distanceKm + haversineMetres(last.lat, last.lon, fix.lat, fix.lon) / 1000,
      maxSpeed: Math.max(trip.maxSpeed, speed ?? 0),
      lastMoving: moving ? { ts: fix.ts, ...here } : trip.lastMoving,
    };
    if (fix.ignition === false) {
      return { state: { trip: null }, events: completed(fix, updated, fix.ts, here, rules.tripMinDistanceKm) };
    }
    if (!moving && fix.ts - trip.lastMoving.ts >= rules.tripLongStopS * 1000) {
      const { ts, lat, lon } = trip.lastMoving;
      return { state: { trip: null }, events: completed(fix, updated, ts, { lat, lon }, rules.tripMinDistanceKm) };
    }
    return { state: { trip: updated }, events: [] };
  },
};
