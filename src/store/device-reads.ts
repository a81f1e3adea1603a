import type pg from 'pg';
import { countedRows } from './list-rows.js';
import type { DeviceReads } from '../core/store-ports.js';

const COLUMNS = `device_id AS id, first_seen_at, last_received_at, tags, route_id,
  json_build_object('ts', last_ts, 'lat', lat, 'lon', lon, 'speed', speed, 'heading', heading, 'ignition', ignition) AS last_position`;

const POSITION_COLUMNS = `ts, lat, lon, speed, heading, altitude, accuracy, satellites, ignition, odometer, attributes, received_at`;
const IN_RANGE = `tenant_id = $1 AND device_id = $2 AND ($3::timestamptz IS NULL OR ts >= $3) AND ($4::timestamptz IS NULL OR ts < $4)`;

export function deviceReads(db: pg.Pool): DeviceReads {
  return {
    list: (tenantId, page) => countedRows(db, { select: COLUMNS, from: 'devices', where: 'tenant_id = $1', orderBy: 'device_id' }, [tenantId], page),
    async latest(tenantId, deviceId) {
      const result = await db.query(`SELECT ${COLUMNS} FROM devices WHERE tenant_id = $1 AND device_id = $2`, [tenantId, deviceId]);
      return result.rows[0] ?? null;
    },
    positions(tenantId, deviceId, range, page) {
      return countedRows(db, { select: POSITION_COLUMNS, from: 'positions', where: IN_RANGE, orderBy: 'ts' }, [tenantId, deviceId, range.from, range.to], page);
    },
    async track(tenantId, deviceId, range, max) {
      const { rows } = await db.query<{ ts: Date; lat: number; lon: number }>(
        `SELECT ts, lat, lon FROM positions WHERE ${IN_RANGE} ORDER BY ts LIMIT $5`, [tenantId, deviceId, range.from, range.to, max + 1]);
      return rows;
    },
    async lastPositions(tenantId) {
      const { rows } = await db.query<{ device_id: string; ms: number; lat: number; lon: number; speed: number | null; heading: number | null; ignition: boolean | null; inside: string; tags: string[] }>(
        `SELECT device_id, extract(epoch FROM last_ts) * 1000 AS ms, lat, lon, speed, heading, ignition, inside, tags FROM devices WHERE tenant_id = $1`, [tenantId]);
      return rows.map((r) => ({
        tenantId, deviceId: r.device_id, ts: Number(r.ms), lat: r.lat, lon: r.lon, speed: r.speed, heading: r.heading, ignition: r.ignition,
        inside: JSON.parse(r.inside) as Record<string, number>, tags: r.tags,
      }));
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
