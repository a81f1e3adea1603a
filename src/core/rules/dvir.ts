import { isValidToken } from '../token.js';
import { derivedEvent, eventId, type DerivedEvent } from '../event.js';

const DVIR_TYPE = /^dvir\./;

/** Dates PostgreSQL's timestamptz and ISO 8601 both hold: years 0001 to 9999. */
// Date.UTC reads years 0-99 as 1900-1999: set the year on its own.
const EARLIEST = new Date(0).setUTCFullYear(1, 0, 1);
const LATEST = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/**
 * Why an inbound event's `occurred_at` cannot be kept, or null: a date-time it states must lie
 * within years 0001-9999 (one of year -100000 once failed the request with a 500).
 */
export function occurredAtProblem(body: Readonly<Record<string, unknown>>): string | null {
  if (typeof body.occurred_at !== 'string') return null;
  const stated = Date.parse(body.occurred_at);
  if (Number.isNaN(stated) || (stated >= EARLIEST && stated <= LATEST)) return null;
  return `occurred_at ${JSON.stringify(body.occurred_at.slice(0, 40))} lies outside years 0001-9999`;
}

/**
 * dvir.submitted for an inbound event of type `dvir.*` (a driver vehicle inspection report from
 * another product), carrying the inbound payload as it came. It names the device by the
 * payload's `device_id` or `vehicle_id` when that is a device token, and occurs at its
 * `occurred_at` when that is a date-time, else when it was received. The sender's own `id`
 * alone makes a resend the same event (whatever its time, which without `occurred_at` is each
 * receipt's); without one, each receipt is an event of its own.
 */
export function dvirSubmitted(tenantId: string, body: Readonly<Record<string, unknown>>, receiptId: string, receivedAt: number): DerivedEvent | null {
  if (typeof body.type !== 'string' || !DVIR_TYPE.test(body.type)) return null;
  const device = [body.device_id, body.vehicle_id].find((v): v is string => typeof v === 'string' && isValidToken(v)) ?? null;
  const stated = typeof body.occurred_at === 'string' ? Date.parse(body.occurred_at) : Number.NaN;
  const occurredAt = Number.isNaN(stated) ? receivedAt : stated;
  if (typeof body.id === 'string' || typeof body.id === 'number') {
    return { ...derivedEvent(tenantId, device, 'dvir.submitted', occurredAt, { ...body }), id: eventId(tenantId, null, 'dvir.submitted', 0, `sender:${body.id}`) };
  }
  return derivedEvent(tenantId, device, 'dvir.submitted', occurredAt, { ...body }, `receipt:${receiptId}`);
}
