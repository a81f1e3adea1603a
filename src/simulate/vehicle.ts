import { between, type Random } from './random.js';

const METRES_PER_DEGREE_LAT = 111_320;
/** Spacing of the simulated street grid, metres between intersections. */
const BLOCK_M = 180;
/** Comfortable acceleration and braking, km/h gained or lost per second (about 2 m/s²). */
const ACCEL_KMH_PER_S = 7;

export type Phase = 'driving' | 'waiting' | 'parked';

/** One simulated vehicle. Mutable: the simulator advances it in place, thousands at a time. */
export interface Vehicle {
  readonly id: string;
  lat: number;
  lon: number;
  /** 0, 90, 180 or 270: the grid's directions. */
  heading: number;
  speed: number;
  targetSpeed: number;
  phase: Phase;
  /** Seconds left in the current wait or parking stop. */
  phaseLeft: number;
  /** Metres to the next intersection. */
  toIntersection: number;
  /** Metres left in the current trip before the vehicle parks. */
  tripLeft: number;
  odometerKm: number;
  fuelLevel: number;
}

/** A report as a device would send it (contract section 1). */
export interface SimulatedReport {
  ts: number;
  lat: number;
  lon: number;
  speed: number;
  heading: number;
  ignition: boolean;
  odometer: number;
  satellites: number;
  accuracy: number;
  attributes: { fuel_level: number };
}

export interface City {
  readonly lat: number;
  readonly lon: number;
  /** Vehicles start within this many metres of the centre. */
  readonly radiusM: number;
}

export const MUNICH: City = { lat: 48.137, lon: 11.575, radiusM: 8000 };

/** Where a simulated fleet can drive (`simulate --area`): San Francisco matches the demo's geofences. */
export const CITIES: Readonly<Record<string, City>> = {
  munich: MUNICH,
  'san-francisco': { lat: 37.758, lon: -122.44, radiusM: 3500 },
};

function newTrip(random: Random): number {
  return between(random, 2000, 15_000);
}

/** A vehicle parked at a random spot of the city, ready to start a trip. */
export function createVehicle(id: string, city: City, random: Random): Vehicle {
  const north = between(random, -city.radiusM, city.radiusM);
  const east = between(random, -city.radiusM, city.radiusM);
  return {
    id,
    lat: city.lat + north / METRES_PER_DEGREE_LAT,
    lon: city.lon + east / (METRES_PER_DEGREE_LAT * Math.cos((city.lat * Math.PI) / 180)),
    heading: 90 * Math.floor(random() * 4),
    speed: 0,
    targetSpeed: 0,
    phase: 'parked',
    phaseLeft: between(random, 0, 120),
    toIntersection: between(random, 0, BLOCK_M),
    tripLeft: newTrip(random),
    odometerKm: between(random, 5000, 150_000),
    fuelLevel: between(random, 20, 100),
  };
}

function approach(current: number, target: number, maxChange: number): number {
  return current < target ? Math.min(target, current + maxChange) : Math.max(target, current - maxChange);
}

/** What happens at an intersection: a turn, a red light, or the end of the trip. */
function atIntersection(v: Vehicle, random: Random): void {
  v.toIntersection += BLOCK_M;
  const turn = random();
  if (turn < 0.2) v.heading = (v.heading + 90) % 360;
  else if (turn < 0.4) v.heading = (v.heading + 270) % 360;
  if (v.tripLeft <= 0) {
    v.phase = 'parked';
    v.phaseLeft = between(random, 60, 900);
    v.speed = 0;
  } else if (random() < 0.25) {
    v.phase = 'waiting';
    v.phaseLeft = between(random, 5, 60);
    v.speed = 0;
  } else {
    v.targetSpeed = between(random, 25, 65);
  }
}

/** Advances a vehicle by `dt` seconds along the street grid. */
export function advance(v: Vehicle, dt: number, random: Random): void {
  if (v.phase !== 'driving') {
    v.phaseLeft -= dt;
    if (v.phaseLeft > 0) return;
    if (v.phase === 'parked') v.tripLeft = newTrip(random);
    v.phase = 'driving';
    v.targetSpeed = between(random, 25, 65);
    return;
  }
  v.speed = approach(v.speed, v.targetSpeed, ACCEL_KMH_PER_S * dt);
  const metres = Math.min((v.speed / 3.6) * dt, v.toIntersection);
  const rad = (v.heading * Math.PI) / 180;
  v.lat += (metres * Math.cos(rad)) / METRES_PER_DEGREE_LAT;
  v.lon += (metres * Math.sin(rad)) / (METRES_PER_DEGREE_LAT * Math.cos((v.lat * Math.PI) / 180));
  v.toIntersection -= metres;
  v.tripLeft -= metres;
  v.odometerKm += metres / 1000;
  v.fuelLevel = Math.max(5, v.fuelLevel - metres / 100_000);
  if (v.toIntersection <= 0.01) atIntersection(v, random);
}

/** The report the vehicle's tracker would send now, with a little GPS noise. */
export function report(v: Vehicle, ts: number, random: Random): SimulatedReport {
  const noise = 2 / METRES_PER_DEGREE_LAT;
  return {
    ts,
    lat: v.lat + between(random, -noise, noise),
    lon: v.lon + between(random, -noise, noise),
    speed: Math.round(v.speed * 10) / 10,
    heading: v.heading,
    ignition: v.phase !== 'parked',
    odometer: Math.round(v.odometerKm * 1000) / 1000,
    satellites: 6 + Math.floor(random() * 8),
    accuracy: Math.round(between(random, 2, 12) * 10) / 10,
    attributes: { fuel_level: Math.round(v.fuelLevel * 10) / 10 },
  };
}
