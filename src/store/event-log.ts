import type pg from 'pg';
import type { DerivedEvent } from '../core/event.js';
import type { CountedRows, Page, TimeRange } from '../core/page.js';
import { inTransaction } from './database.js';
import { countedRows } from './list-rows.js';
import { inboundBytesUsage, inboundUsage, type WindowUsage } from './tenant-usage.js';

/** Which of a tenant's events a list shows: null filters nothing. */
export interface EventFilter extends TimeRange {
  readonly type: string | null;
  readonly deviceId: string | null;
}

/** An inbound event as kept in the audit log. */
export interface InboundReceipt {
  readonly id: string;
  readonly received_at: Date;
}

/** What the API reads and writes of the events table and the inbound audit log. */
export interface EventLog {
  /** A tenant's derived events, oldest first. */
  events(tenantId: string, filter: EventFilter, page: Page): Promise<CountedRows<Record<string, unknown>>>;
  /**
   * Keeps an inbound body in the audit log and, in the same transaction, the event `derive`
   * makes of it from the receipt (none when it returns null).
   */
  recordInbound(tenantId: string, body: unknown, bytes: number, derive: (receipt: InboundReceipt) => DerivedEvent | null): Promise<{ receipt: InboundReceipt; event: DerivedEvent | null }>;
  /** The audit log, newest first. */
  inbound(tenantId: string, page: Page): Promise<CountedRows<Record<string, unknown>>>;
  /** Inbound events the tenant posted in the last `windowS` seconds. */
  inboundCount(tenantId: string, windowS: number): Promise<WindowUsage>;
  /** Bytes of inbound bodies the tenant posted in the last `windowS` seconds. */
  inboundBytes(tenantId: string, windowS: number): Promise<WindowUsage>;
}

export function eventLog(db: pg.Pool): EventLog {
  return {
    events(tenantId, filter, page) {
      const where = `tenant_id = $1 AND ($2::text IS NULL OR type = $2) AND ($3::text IS NULL OR device_id = $3)
                     AND ($4::timestamptz IS NULL OR occurred_at >= $4) AND ($5::timestamptz IS NULL OR occurred_at < $5)`;
      const params = [tenantId, filter.type, filter.deviceId, filter.from, filter.to];
      return countedRows(db, { select: 'id, type, tenant_id, device_id, occurred_at, data', from: 'events', where, orderBy: 'occurred_at, seq' }, params, page);
    },
    recordInbound: (tenantId, body, bytes, derive) => inTransaction(db, async (client) => {
      const result = await client.query<InboundReceipt>(
        'INSERT INTO inbound_events (tenant_id, body, bytes) VALUES ($1, $2, $3) RETURNING id, received_at', [tenantId, JSON.stringify(body), bytes],
      );
      const receipt = result.rows[0] as InboundReceipt;
      const event = derive(receipt);
      if (event !== null) {
        await client.query(
          'INSERT INTO events (id, tenant_id, device_id, type, occurred_at, data) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING',
          [event.id, event.tenantId, event.deviceId, event.type, new Date(event.occurredAt), JSON.stringify(event.data)],
        );
      }
      return { receipt, event };
    }),
    inbound: (tenantId, page) => countedRows(db, { select: 'id::int AS id, received_at, body', from: 'inbound_events', where: 'tenant_id = $1', orderBy: 'id DESC' }, [tenantId], page),
    inboundCount: (tenantId, windowS) => inboundUsage(db, tenantId, windowS),
    inboundBytes: (tenantId, windowS) => inboundBytesUsage(db, tenantId, windowS),
  };
}
