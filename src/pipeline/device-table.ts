import type { DeviceState, DeviceStateRow, InsideGeofence, LastFix, OverspeedState, RouteState, ThresholdState } from '../core/device-state.js';
import { deviceKey } from '../core/fix.js';

/** The parts of a state most devices do not have: kept as an object only where one does. */
interface RareParts {
  readonly inside: Readonly<Record<string, InsideGeofence>>;
  readonly zone: string | null;
  readonly entering: Readonly<Record<string, number>>;
  readonly overspeedActive: OverspeedState['active'];
  readonly driverId: string | null;
  readonly thresholds: Readonly<Record<string, ThresholdState>>;
  readonly tags: readonly string[];
  readonly route: RouteState | null;
}

/** The numbers of a state, at these offsets within its slot's stride: NaN stands for null. */
const N = {
  fixTs: 0, fixLat: 1, fixLon: 2, fixSpeed: 3, fixHeading: 4, fixOdometer: 5, lastReceivedAt: 6, offlineSince: 7, heartbeatAt: 8,
  overspeedCandidateSince: 9, idleSince: 10, tripStartedAt: 11, tripStartLat: 12, tripStartLon: 13, tripDistanceKm: 14,
  tripMaxSpeed: 15, tripMovingTs: 16, tripMovingLat: 17, tripMovingLon: 18,
} as const;
const NUMBERS_PER_SLOT = 19;

/** Its flags, at these offsets: -1, 0, 1 for null, false, true. */
const F = { fixIgnition: 0, idleStarted: 1 } as const;
const FLAGS_PER_SLOT = 2;

const INITIAL_SLOTS = 1024;

const orNull = (value: number): number | null => (Number.isNaN(value) ? null : value);
const orNaN = (value: number | null | undefined): number => value ?? NaN;
const flag = (value: boolean | null): number => (value === null ? -1 : value ? 1 : 0);
const unflag = (value: number): boolean | null => (value < 0 ? null : value === 1);

function isEmpty(record: Readonly<Record<string, unknown>>): boolean {
  for (const _ in record) return false;
  return true;
}

/**
 * Every known device's rule state, packed: a slot per device, its numbers in typed-array
 * columns and the parts few devices have (geofences they are in, an overspeed episode, a driver,
 * threshold episodes, tags, a route) as an object only where present. A device's state changes with every fix;
 * held as an object graph, each change left the old one to die after seconds, in the old
 * generation, and with 100 000 devices the heap grew to hundreds of MiB of such garbage before a
 * full collection. Packed, a fix rewrites numbers in place and only the rare parts allocate.
 * `get` gives a fresh state object, for the pure core to read and answer with a new one.
 */
export class DeviceTable {
  private readonly slots = new Map<string, number>();
  private tenants: string[] = [];
  private devices: string[] = [];
  private rare: (RareParts | undefined)[] = [];
  private numbers = new Float64Array(0);
  private flags = new Int8Array(0);
  private capacity = 0;

  constructor(rows: Iterable<DeviceStateRow> = []) {
    this.grow(INITIAL_SLOTS);
    for (const row of rows) this.set(row);
  }

  get size(): number {
    return this.slots.size;
  }

  /** The slot of a device, or undefined when it has no state yet. */
  slotOf(tenantId: string, deviceId: string): number | undefined {
    return this.slots.get(deviceKey(tenantId, deviceId));
  }

  /** Stores a device's state, in its slot or a new one; returns the slot. */
  set(row: DeviceStateRow): number {
    const key = deviceKey(row.tenantId, row.deviceId);
    let slot = this.slots.get(key);
    if (slot === undefined) {
      slot = this.slots.size;
      if (slot === this.capacity) this.grow(this.capacity * 2);
      this.slots.set(key, slot);
      this.tenants[slot] = row.tenantId;
      this.devices[slot] = row.deviceId;
    }
    this.write(slot, row.state);
    return slot;
  }

  /** The state in a slot, as a new object. */
  state(slot: number): DeviceState {
    const base = slot * NUMBERS_PER_SLOT;
    const n = (offset: number) => this.numbers[base + offset] as number;
    const f = (offset: number) => unflag(this.flags[slot * FLAGS_PER_SLOT + offset] as number);
    const rare = this.rare[slot];
    const tripStartedAt = n(N.tripStartedAt);
    const candidateSince = orNull(n(N.overspeedCandidateSince));
    return {
      lastFix: this.lastFix(slot),
      lastReceivedAt: orNull(n(N.lastReceivedAt)),
      inside: rare?.inside ?? {},
      zone: rare?.zone ?? null,
      entering: rare?.entering ?? {},
      overspeed: { candidateSince, active: rare?.overspeedActive ?? null },
      idle: { since: orNull(n(N.idleSince)), started: f(F.idleStarted) === true },
      trip: Number.isNaN(tripStartedAt) ? null : {
        startedAt: tripStartedAt,
        start: { lat: n(N.tripStartLat), lon: n(N.tripStartLon) },
        distanceKm: n(N.tripDistanceKm),
        maxSpeed: n(N.tripMaxSpeed),
        lastMoving: { ts: n(N.tripMovingTs), lat: n(N.tripMovingLat), lon: n(N.tripMovingLon) },
      },
      offlineSince: orNull(n(N.offlineSince)),
      driverId: rare?.driverId ?? null,
      heartbeatAt: orNull(n(N.heartbeatAt)),
      thresholds: rare?.thresholds ?? {},
      tags: rare?.tags ?? [],
      route: rare?.route ?? null,
    };
  }

  /** The newest fix a slot's state holds (null before the first), without the rest of the state. */
  lastFix(slot: number): LastFix | null {
    const base = slot * NUMBERS_PER_SLOT;
    const n = (offset: number) => this.numbers[base + offset] as number;
    const ts = n(N.fixTs);
    if (Number.isNaN(ts)) return null;
    return {
      ts, lat: n(N.fixLat), lon: n(N.fixLon), speed: orNull(n(N.fixSpeed)), heading: orNull(n(N.fixHeading)),
      ignition: unflag(this.flags[slot * FLAGS_PER_SLOT + F.fixIgnition] as number), odometer: orNull(n(N.fixOdometer)),
    };
  }

  /** The geofences a slot's device is inside, without the rest of the state. */
  inside(slot: number): Readonly<Record<string, InsideGeofence>> {
    return this.rare[slot]?.inside ?? {};
  }

  /** A slot's device's route, without the rest of the state. */
  routeId(slot: number): string | null {
    return this.rare[slot]?.route?.routeId ?? null;
  }

  /** A slot's device's tags, without the rest of the state. */
  tags(slot: number): readonly string[] {
    return this.rare[slot]?.tags ?? [];
  }

  /** The tenant and device a slot holds. */
  device(slot: number): { readonly tenantId: string; readonly deviceId: string } {
    return { tenantId: this.tenants[slot] as string, deviceId: this.devices[slot] as string };
  }

  /** The device and state in a slot, as a new row. */
  row(slot: number): DeviceStateRow {
    return { ...this.device(slot), state: this.state(slot) };
  }

  /** Every slot in use, in the order the devices were first seen. */
  *slotsInUse(): IterableIterator<number> {
    for (let slot = 0; slot < this.slots.size; slot++) yield slot;
  }

  private write(slot: number, state: DeviceState): void {
    const base = slot * NUMBERS_PER_SLOT;
    const put = (offset: number, value: number | null | undefined) => {
      this.numbers[base + offset] = orNaN(value);
    };
    const { lastFix, trip } = state;
    put(N.fixTs, lastFix?.ts);
    put(N.fixLat, lastFix?.lat);
    put(N.fixLon, lastFix?.lon);
    put(N.fixSpeed, lastFix?.speed);
    put(N.fixHeading, lastFix?.heading);
    put(N.fixOdometer, lastFix?.odometer);
    this.flags[slot * FLAGS_PER_SLOT + F.fixIgnition] = flag(lastFix?.ignition ?? null);
    put(N.lastReceivedAt, state.lastReceivedAt);
    put(N.offlineSince, state.offlineSince);
    put(N.heartbeatAt, state.heartbeatAt);
    put(N.overspeedCandidateSince, state.overspeed.candidateSince);
    put(N.idleSince, state.idle.since);
    this.flags[slot * FLAGS_PER_SLOT + F.idleStarted] = flag(state.idle.started);
    put(N.tripStartedAt, trip?.startedAt);
    put(N.tripStartLat, trip?.start.lat);
    put(N.tripStartLon, trip?.start.lon);
    put(N.tripDistanceKm, trip?.distanceKm);
    put(N.tripMaxSpeed, trip?.maxSpeed);
    put(N.tripMovingTs, trip?.lastMoving.ts);
    put(N.tripMovingLat, trip?.lastMoving.lat);
    put(N.tripMovingLon, trip?.lastMoving.lon);
    const tags = state.tags ?? [];
    const zone = state.zone ?? null;
    const entering = state.entering ?? {};
    const route = state.route ?? null;
    const hasRare = !isEmpty(state.inside) || zone !== null || !isEmpty(entering) || state.overspeed.active !== null || state.driverId !== null || !isEmpty(state.thresholds) || tags.length > 0 || route !== null;
    this.rare[slot] = hasRare
      ? { inside: state.inside, zone, entering, overspeedActive: state.overspeed.active, driverId: state.driverId, thresholds: state.thresholds, tags, route }
      : undefined;
  }

  private grow(capacity: number): void {
    const numbers = new Float64Array(capacity * NUMBERS_PER_SLOT);
    numbers.set(this.numbers);
    const flags = new Int8Array(capacity * FLAGS_PER_SLOT);
    flags.set(this.flags);
    this.numbers = numbers;
    this.flags = flags;
    this.capacity = capacity;
  }
}
