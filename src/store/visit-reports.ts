import type pg from 'pg';
import type { Page } from '../core/page.js';
import type { VisitFilter, VisitReports, ZoneTimeGrouping } from '../core/store-ports.js';
import { countedRows } from './list-rows.js';

// Each visit of a device to a geofence as the events stand (what a late fix retracted left
// out): an enter and the leave after it (none while the device is inside), or a crossing
// between two sparse fixes, with the times interpolated on it. Cut to [$4, $5): a visit that
// began before the range begins with it, one that ends after it ends with it, and one still
// open ends at the range's end when that has passed.
const VISITS = `(
  WITH marks AS (
    SELECT device_id, data->>'geofence_id' AS geofence_id, data->>'geofence_name' AS geofence_name, type, occurred_at, seq,
           lead(type) OVER w AS next_type, lead(occurred_at) OVER w AS next_at
      FROM events
     WHERE tenant_id = $1 AND type IN ('geofence.enter', 'geofence.leave') AND retracted_by IS NULL
       AND ($2::text IS NULL OR data->>'geofence_id' = $2) AND ($3::text IS NULL OR device_id = $3) AND occurred_at < $5
    WINDOW w AS (PARTITION BY device_id, data->>'geofence_id' ORDER BY occurred_at, seq)
  ), visits AS (
    SELECT device_id, geofence_id, geofence_name, occurred_at AS entered, CASE WHEN next_type = 'geofence.leave' THEN next_at END AS left_at, seq
      FROM marks WHERE type = 'geofence.enter'
    UNION ALL
    SELECT e.device_id, e.data->>'geofence_id', e.data->>'geofence_name', (e.data->>'entered_at')::timestamptz, (e.data->>'left_at')::timestamptz, e.seq
      FROM events e
     WHERE e.tenant_id = $1 AND e.type = 'geofence.crossed' AND e.retracted_by IS NULL
       AND ($2::text IS NULL OR e.data->>'geofence_id' = $2) AND ($3::text IS NULL OR e.device_id = $3) AND e.occurred_at >= $4
  ), cut AS (
    SELECT device_id, geofence_id, geofence_name, greatest(entered, $4::timestamptz) AS entered_at,
           CASE WHEN left_at IS NOT NULL THEN least(left_at, $5::timestamptz) WHEN $5::timestamptz <= now() THEN $5::timestamptz END AS left_at, seq
      FROM visits
     WHERE entered < $5 AND (left_at IS NULL OR left_at > $4)
  )
  SELECT device_id, geofence_id, geofence_name, entered_at, left_at,
         round(extract(epoch FROM coalesce(left_at, now()) - entered_at)::numeric, 3)::float8 AS dwell_seconds, seq
    FROM cut
) AS visit`;

export function visitReports(db: pg.Pool): VisitReports {
  return {
    visits(tenantId: string, filter: VisitFilter, page: Page) {
      const params = [tenantId, filter.geofenceId, filter.deviceId, filter.from, filter.to];
      return countedRows(db, {
        select: 'device_id, geofence_id, geofence_name, entered_at, left_at, dwell_seconds', from: VISITS, where: 'true', orderBy: 'entered_at, device_id, geofence_id, seq',
      }, params, page);
    },
    timeInZone(tenantId: string, range: { from: string; to: string }, groupBy: ZoneTimeGrouping, page: Page) {
      const key = groupBy === 'device' ? 'device_id' : 'geofence_id, geofence_name';
      const params = [tenantId, null, null, range.from, range.to];
      const totals = `(SELECT ${key}, count(*)::int AS visits, round(sum(dwell_seconds)::numeric, 3)::float8 AS seconds_inside FROM ${VISITS} GROUP BY ${key}) AS totals`;
      return countedRows(db, { select: `${key}, visits, seconds_inside`, from: totals, where: 'true', orderBy: key }, params, page);
    },
  };
}
