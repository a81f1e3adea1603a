export interface LastFix {
  readonly ts: number;
  readonly lat: number;
  readonly lon: number;
  readonly speed: number | null;
  /** Degrees from north, as the fix reported it (absent in checkpoints written before it was kept). */
  readonly heading?: number | null;
  /** The latest reported, carried over fixes that do not report it. */
  readonly ignition: boolean | null;
  /** km, the latest reported (carried over fixes that do not report it). */
  readonly odometer?: number | null;
}

export interface InsideGeofence {
  readonly enteredAt: number;
  readonly dwellSent: boolean;
  readonly name: string;
  /** Fix time of the first fix outside, while a leave waits for the geofence's confirm_s. */
  readonly leavingSince?: number;
  /** Inside while the geofence's schedule is closed: tracked, not reported (no enter was sent for it). */
  readonly unreported?: boolean;
}

export interface OverspeedState {
  /** Set while the speed is over the threshold but not yet for the minimum duration. */
  readonly candidateSince: number | null;
  readonly active: {
    readonly startedAt: number;
    readonly maxSpeed: number;
    readonly limit: number;
  } | null;
}

export interface IdleState {
  readonly since: number | null;
  readonly started: boolean;
}

export interface TripState {
  readonly startedAt: number;
  readonly start: { readonly lat: number; readonly lon: number };
  readonly distanceKm: number;
  readonly maxSpeed: number;
  readonly lastMoving: { readonly ts: number; readonly lat: number; readonly lon: number };
}

/** The route (a corridor) a dispatcher assigned to a device, and whether it is off it. */
export interface RouteState {
  readonly routeId: string;
  /** Fix time of the first fix outside the route, while the device is; null while on it. */
  readonly offSince: number | null;
  /** True once route.deviated was sent for this time off the route. */
  readonly deviated: boolean;
}

/** One attribute limit's episode, from the first fix beyond it. */
export interface ThresholdState {
  readonly since: number;
  /** True once it has lasted the minimum duration and threshold_exceeded was sent. */
  readonly exceeded: boolean;
  /** The furthest value beyond the limit: the maximum above it, the minimum below it. */
  readonly extreme: number;
}

/**
 * Everything the rules remember about one device between fixes. Plain JSON, so that it is
 * checkpointed with its partition and reloaded by the partition's next owner.
 */
export interface DeviceState {
  readonly lastFix: LastFix | null;
  /** Receiver clock (epoch ms) when the last fix was processed: the offline sweep's reference. */
  readonly lastReceivedAt: number | null;
  readonly inside: Readonly<Record<string, InsideGeofence>>;
  /** The highest-ranked geofence the device is inside (its zone, for geofence.change); null: none. Absent in checkpoints written before it. */
  readonly zone?: string | null;
  /** Geofences with confirm_s the device is in but has not been long enough: id to the first fix's time. */
  readonly entering?: Readonly<Record<string, number>>;
  readonly overspeed: OverspeedState;
  readonly idle: IdleState;
  readonly trip: TripState | null;
  /** Receiver time of device.offline, until the next fix brings device.online. */
  readonly offlineSince: number | null;
  /** The driver assigned by the device or a dispatcher; null when none. */
  readonly driverId: string | null;
  /** The device's tags (PUT /v1/devices/{id}/tags), sorted; absent: none (so in checkpoints written before tags). */
  readonly tags?: readonly string[];
  /** The device's route (PUT /v1/devices/{id}/route); absent or null: none. */
  readonly route?: RouteState | null;
  /** Fix time of the last device.heartbeat (or of the first fix, before one was due). */
  readonly heartbeatAt: number | null;
  /** Open threshold episodes by `<attribute>:above` or `<attribute>:below`. */
  readonly thresholds: Readonly<Record<string, ThresholdState>>;
}

export const INITIAL_STATE: DeviceState = Object.freeze({
  lastFix: null,
  lastReceivedAt: null,
  inside: {},
  zone: null,
  entering: {},
  overspeed: { candidateSince: null, active: null },
  idle: { since: null, started: false },
  trip: null,
  offlineSince: null,
  driverId: null,
  heartbeatAt: null,
  thresholds: {},
  tags: [],
  route: null,
});

/** A device's rule state, with the device it belongs to. */
export interface DeviceStateRow {
  readonly tenantId: string;
  readonly deviceId: string;
  readonly state: DeviceState;
  /** Where its late-fix history starts (src/core/device-history.ts), when it has one. */
  readonly historyBase?: { readonly state: DeviceState; readonly from: number } | null;
}
