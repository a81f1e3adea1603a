import type pg from 'pg';
import { countedRows } from './list-rows.js';
import { inboundBytesUsage, inboundUsage } from './tenant-usage.js';
import type { InboundReceipt, EventLog } from '../core/store-ports.js';

export function eventLog(db: pg.Pool): EventLog {
  return {
    async events(tenantId, filter, page) {
      // The current truth leaves out what a late fix retracted, and the retractions, unless
      // asked for by type.
      const where = `tenant_id = $1 AND ($2::text IS NULL OR type = $2) AND ($3::text IS NULL OR device_id = $3)
                     AND ($4::timestamptz IS NULL OR occurred_at >= $4) AND ($5::timestamptz IS NULL OR occurred_at < $5)
                     AND ($6 OR (retracted_by IS NULL AND (type <> 'event.retracted' OR $2 = 'event.retracted')))`;
      const params = [tenantId, filter.type, filter.deviceId, filter.from, filter.to, filter.includeRetracted];
      const select = `id, type, tenant_id, device_id, occurred_at, late, data${filter.includeRetracted ? ', retracted_by' : ''}`;
      const listed = await countedRows(db, { select, from: 'events', where, orderBy: 'occurred_at, seq' }, params, page);
      // `late` is said only when true, as in the envelope.
      for (const row of listed.rows) if (row.late !== true) delete row.late;
      return listed;
    },
    recordInbound: async (tenantId, body, bytes) => {
      const result = await db.query<InboundReceipt>(
        'INSERT INTO inbound_events (tenant_id, body, bytes) VALUES ($1, $2, $3) RETURNING id, received_at', [tenantId, JSON.stringify(body), bytes],
      );
      return result.rows[0] as InboundReceipt;
    },
    inbound: (tenantId, page) => countedRows(db, { select: 'id::int AS id, received_at, body', from: 'inbound_events', where: 'tenant_id = $1', orderBy: 'id DESC' }, [tenantId], page),
    inboundCount: (tenantId, windowS) => inboundUsage(db, tenantId, windowS),
    inboundBytes: (tenantId, windowS) => inboundBytesUsage(db, tenantId, windowS),
  };
}
