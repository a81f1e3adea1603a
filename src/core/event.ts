import { createHash } from 'node:crypto';
import { pythonJson } from './python-json.js';

/** The event types of contract section 3. */
export type EventType =
  | 'geofence.enter' | 'geofence.leave' | 'geofence.dwell' | 'geofence.crossed' | 'geofence.change'
  | 'overspeed.started' | 'overspeed.ended'
  | 'idle.started' | 'idle.ended'
  | 'ignition.on' | 'ignition.off'
  | 'trip.completed'
  | 'device.offline' | 'device.online'
  | 'position.recorded' | 'positions.batch'
  | 'attribute.threshold_exceeded' | 'attribute.threshold_cleared'
  | 'driver.assigned' | 'driver.unassigned'
  | 'route.deviated' | 'route.rejoined'
  | 'device.heartbeat'
  | 'dvir.submitted'
  | 'event.retracted';

/** An event derived from a device's fixes, before it is enveloped and published. */
export interface DerivedEvent {
  readonly id: string;
  readonly type: EventType;
  readonly tenantId: string;
  /** Null for an event of the whole tenant (positions.batch, an inbound report naming no device). */
  readonly deviceId: string | null;
  /** Epoch ms: the fix time of the position that caused it. */
  readonly occurredAt: number;
  readonly data: Readonly<Record<string, unknown>>;
  /** True for an event a late fix's correction derived (src/core/late-fixes.ts). */
  readonly late?: boolean;
}

/**
 * A deterministic id: the same input stream yields the same ids, so a replay after a crash
 * produces duplicates that the events table and JetStream's Nats-Msg-Id both drop.
 * `discriminator` separates events of one type caused by one fix (e.g. the geofence id).
 */
export function eventId(tenantId: string, deviceId: string | null, type: EventType, occurredAt: number, discriminator = ''): string {
  const digest = createHash('sha256').update(`${tenantId}\u0000${deviceId ?? ''}\u0000${type}\u0000${occurredAt}\u0000${discriminator}`).digest('hex');
  return `evt_${digest.slice(0, 26)}`;
}

export function derivedEvent(
  tenantId: string, deviceId: string | null, type: EventType, occurredAt: number, data: Record<string, unknown>, discriminator = '',
): DerivedEvent {
  return { id: eventId(tenantId, deviceId, type, occurredAt, discriminator), type, tenantId, deviceId, occurredAt, data };
}

/**
 * The wire envelope (contract section 3): compact JSON, ASCII only, numbers as Python writes
 * them, the same bytes on EVENTS and as the webhook body. `late` (after `occurred_at`) is there
 * only when true.
 */
export function envelope(event: DerivedEvent): string {
  return pythonJson({
    id: event.id,
    type: event.type,
    tenant_id: event.tenantId,
    device_id: event.deviceId,
    occurred_at: new Date(event.occurredAt).toISOString(),
    ...(event.late === true ? { late: true } : {}),
    data: event.data,
  });
}

/**
 * Where events go out (the outbox's port): puts one event on `events.<tenant>.<type>` and
 * resolves once it is stored there; an UnstorableError when it can never be (too large).
 */
export type EventSink = (event: DerivedEvent) => Promise<unknown>;
