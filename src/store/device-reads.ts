import type pg from 'pg';
import type { CountedRows, Page, TimeRange } from '../core/page.js';
import { countedRows } from './list-rows.js';

/** A device as the API shows it: its id, when it was first and last heard, its latest position. */
export type DeviceAnswerRow = Record<string, unknown>;

/** What the API reads of devices and their positions. */
export interface DeviceReads {
  list(tenantId: string, page: Page): Promise<CountedRows<DeviceAnswerRow>>;
  /** One device, or null when the tenant has none by that id. */
  latest(tenantId: string, deviceId: string): Promise<DeviceAnswerRow | null>;
  /** A device's positions in a time window, oldest first. */
  positions(tenantId: string, deviceId: string, range: TimeRange, page: Page): Promise<CountedRows<Record<string, unknown>>>;
  /** The devices with a fix in the last `withinS` seconds, the most recently seen first, at most `limit`. */
  active(tenantId: string, withinS: number, limit: number): Promise<DeviceAnswerRow[]>;
}

const COLUMNS = `device_id AS id, first_seen_at, last_received_at,
  json_build_object('ts', last_ts, 'lat', lat, 'lon', lon, 'speed', speed, 'heading', heading, 'ignition', ignition) AS last_position`;

const POSITION_COLUMNS = `ts, lat, lon, speed, heading, altitude, accuracy, satellites, ignition, odometer, attributes, received_at`;

export function deviceReads(db: pg.Pool): DeviceReads {
  return {
    list: (tenantId, page) => countedRows(db, { select: COLUMNS, from: 'devices', where: 'tenant_id = $1', orderBy: 'device_id' }, [tenantId], page),
    async latest(tenantId, deviceId) {
      const result = await db.query(`SELECT ${COLUMNS} FROM devices WHERE tenant_id = $1 AND device_id = $2`, [tenantId, deviceId]);
      return result.rows[0] ?? null;
    },
    positions(tenantId, deviceId, range, page) {
      const where = `tenant_id = $1 AND device_id = $2 AND ($3::timestamptz IS NULL OR ts >= $3) AND ($4::timestamptz IS NULL OR ts < $4)`;
      return countedRows(db, { select: POSITION_COLUMNS, from: 'positions', where, orderBy: 'ts' }, [tenantId, deviceId, range.from, range.to], page);
    },
    async active(tenantId, withinS, limit) {
      const result = await db.query(
        `SELECT ${COLUMNS} FROM devices WHERE tenant_id = $1 AND last_ts > now() - make_interval(secs => $2) ORDER BY last_ts DESC, device_id LIMIT $3`,
        [tenantId, withinS, limit],
      );
      return result.rows;
    },
  };
}
