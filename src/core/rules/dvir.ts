import { isValidToken } from '../../decode/subject.js';
import { derivedEvent, type DerivedEvent } from '../event.js';

const DVIR_TYPE = /^dvir\./;

/**
 * dvir.submitted for an inbound event of type `dvir.*` (a driver vehicle inspection report from
 * another product), carrying the inbound payload as it came. It names the device by the
 * payload's `device_id` or `vehicle_id` when that is a device token, and occurs at its
 * `occurred_at` when that is a date-time, else when it was received. The sender's own `id`
 * makes a resend the same event; without one, each receipt is an event of its own.
 */
export function dvirSubmitted(tenantId: string, body: Readonly<Record<string, unknown>>, receiptId: string, receivedAt: number): DerivedEvent | null {
  if (typeof body.type !== 'string' || !DVIR_TYPE.test(body.type)) return null;
  const device = [body.device_id, body.vehicle_id].find((v): v is string => typeof v === 'string' && isValidToken(v)) ?? null;
  const stated = typeof body.occurred_at === 'string' ? Date.parse(body.occurred_at) : Number.NaN;
  const occurredAt = Number.isNaN(stated) ? receivedAt : stated;
  const senderId = typeof body.id === 'string' || typeof body.id === 'number' ? `sender:${body.id}` : `receipt:${receiptId}`;
  return derivedEvent(tenantId, device, 'dvir.submitted', occurredAt, { ...body }, senderId);
}
