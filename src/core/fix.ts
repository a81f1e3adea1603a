/** One validated GPS fix, as stored in `positions` (contract section 2). */
export interface Fix {
  readonly tenantId: string;
  readonly deviceId: string;
  /** GPS fix time, epoch milliseconds. */
  readonly ts: number;
  readonly lat: number;
  readonly lon: number;
  /** km/h */
  readonly speed: number | null;
  /** degrees from north */
  readonly heading: number | null;
  /** metres */
  readonly altitude: number | null;
  /** metres, horizontal */
  readonly accuracy: number | null;
  readonly satellites: number | null;
  readonly ignition: boolean | null;
  /** km */
  readonly odometer: number | null;
  readonly attributes: Readonly<Record<string, number | string | boolean>> | null;
  /** The driver logged in, null when none; absent when the report does not say (not stored in positions). */
  readonly driverId?: string | null;
  /** km/h: the road's posted limit as the device knows it (not stored in positions). */
  readonly postedSpeedLimit?: number | null;
}

/**
 * A device's latest position, as the devices table holds it, with the geofences its rule state
 * has it inside (geofence id to the epoch ms it entered) and its tags: what the API's live
 * queries answer from.
 */
export type DevicePosition = Pick<Fix, 'tenantId' | 'deviceId' | 'ts' | 'lat' | 'lon' | 'speed' | 'heading' | 'ignition'> & {
  readonly inside: Readonly<Record<string, number>>;
  /** The device's tags, sorted. */
  readonly tags: readonly string[];
  /** The device's route (a corridor's id), null for none; absent where nobody shows it (the live index). */
  readonly routeId?: string | null;
};

/** A key naming one device across tenants, for maps and for sorting rows in a stable order. */
export function deviceKey(tenantId: string, deviceId: string): string {
  return `${tenantId}\u0000${deviceId}`;
}
