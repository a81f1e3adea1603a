export interface LastFix {
  readonly ts: number;
  readonly lat: number;
  readonly lon: number;
  readonly speed: number | null;
  readonly ignition: boolean | null;
}

export interface InsideGeofence {
  readonly enteredAt: number;
  readonly dwellSent: boolean;
  readonly name: string;
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

/**
 * Everything the rules remember about one device between fixes. Plain JSON, so that it is
 * checkpointed with its partition and reloaded by the partition's next owner.
 */
export interface DeviceState {
  readonly lastFix: LastFix | null;
  /** Receiver clock (epoch ms) when the last fix was processed: the offline sweep's reference. */
  readonly lastReceivedAt: number | null;
  readonly inside: Readonly<Record<string, InsideGeofence>>;
  readonly overspeed: OverspeedState;
  readonly idle: IdleState;
  readonly trip: TripState | null;
  /** Receiver time of device.offline, until the next fix brings device.online. */
  readonly offlineSince: number | null;
}

export const INITIAL_STATE: DeviceState = Object.freeze({
  lastFix: null,
  lastReceivedAt: null,
  inside: {},
  overspeed: { candidateSince: null, active: null },
  idle: { since: null, started: false },
  trip: null,
  offlineSince: null,
});

/** A device's rule state, with the device it belongs to. */
export interface DeviceStateRow {
  readonly tenantId: string;
  readonly deviceId: string;
  readonly state: DeviceState;
}
