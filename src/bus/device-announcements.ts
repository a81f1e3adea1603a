import type { NatsConnection } from '@nats-io/transport-node';
import { Packr } from 'msgpackr';
import type { DevicePosition } from '../core/fix.js';
import type { GeofenceChange } from '../core/rule-source.js';
import { followGeofenceChanges } from './geofence-changes.js';
import type { Topology } from './topology.js';

/**
 * Devices per message: a row is under 200 bytes with a few geofences, so a message stays well
 * inside NATS's default max_payload of 1 MiB.
 */
const DEVICES_PER_MESSAGE = 2000;

/** A row on the wire: [device, ts ms, lat, lon, speed, heading, ignition, {geofence: entered ms}, [tags]]. */
type AnnouncedRow = [string, number, number, number, number | null, number | null, boolean | null, Record<string, number>, string[]];

const packr = new Packr({ useRecords: false });

/**
 * Tells the API processes which devices' latest positions (and the geofences they are inside)
 * the devices table was just refreshed with: core NATS, one subject per tenant, nothing kept.
 * A process that misses one reads the table again (see followDeviceAnnouncements).
 */
export function announceDevices(nc: NatsConnection, t: Topology, positions: readonly DevicePosition[]): void {
  const byTenant = new Map<string, AnnouncedRow[]>();
  for (const p of positions) {
    let rows = byTenant.get(p.tenantId);
    if (rows === undefined) byTenant.set(p.tenantId, (rows = []));
    rows.push([p.deviceId, p.ts, p.lat, p.lon, p.speed, p.heading, p.ignition, p.inside as Record<string, number>, p.tags as string[]]);
  }
  for (const [tenantId, rows] of byTenant) {
    for (let i = 0; i < rows.length; i += DEVICES_PER_MESSAGE) nc.publish(`${t.devicesAnnounced}${tenantId}`, packr.pack(rows.slice(i, i + DEVICES_PER_MESSAGE)));
  }
}

/** The positions of one announcement, or null when it is not one (it is ignored, not fatal). */
export function parseDeviceAnnouncement(tenantId: string, data: Uint8Array): DevicePosition[] | null {
  let rows: unknown;
  try {
    rows = packr.unpack(data);
  } catch {
    return null;
  }
  if (!Array.isArray(rows)) return null;
  const positions: DevicePosition[] = [];
  for (const row of rows as unknown[]) {
    if (!Array.isArray(row) || row.length !== 9 || typeof row[0] !== 'string' || typeof row[1] !== 'number' || typeof row[2] !== 'number' || typeof row[3] !== 'number') return null;
    const [deviceId, ts, lat, lon, speed, heading, ignition, inside, tags] = row as AnnouncedRow;
    positions.push({
      tenantId, deviceId, ts, lat, lon, speed, heading, ignition,
      inside: typeof inside === 'object' && inside !== null ? inside : {}, tags: Array.isArray(tags) ? tags.filter((t) => typeof t === 'string') : [],
    });
  }
  return positions;
}

/** What follows the announcements (the API's LiveDevices). */
export interface DeviceFollower {
  positions(tenantId: string, positions: DevicePosition[]): void;
  /** The connection dropped and came back: announcements may have been missed meanwhile. */
  gap(): void;
  /** A tenant's geofences changed (their shapes are read again). */
  geofencesChanged(change: GeofenceChange): void;
}

/** Follows every tenant's announcements and geofence changes until the returned function is called. */
export function followDeviceAnnouncements(nc: NatsConnection, t: Topology, follower: DeviceFollower): () => void {
  const subscription = nc.subscribe(`${t.devicesAnnounced}>`, {
    callback: (err, msg) => {
      if (err !== null) return;
      const tenantId = msg.subject.slice(t.devicesAnnounced.length);
      const positions = parseDeviceAnnouncement(tenantId, msg.data);
      if (positions !== null) follower.positions(tenantId, positions);
    },
  });
  const stopChanges = followGeofenceChanges(nc, t, (change) => follower.geofencesChanged(change));
  let following = true;
  void (async () => {
    for await (const status of nc.status()) {
      if (!following) return;
      if (status.type === 'reconnect') follower.gap();
    }
  })();
  return () => {
    following = false;
    subscription.unsubscribe();
    stopChanges();
  };
}
