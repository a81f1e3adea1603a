import type { GeofenceLimits } from './geofence-limits.js';

/** What one tenant may keep or do: limits against a tenant, hostile or careless, that would crowd out the others. */
export interface TenantQuotas {
  readonly geofences: GeofenceLimits;
  /** Webhook endpoints per tenant. */
  readonly webhookEndpoints: number;
  /** Inbound events a tenant may post per minute (a rate: 429 with Retry-After beyond it). */
  readonly inboundEventsPerMinute: number;
  /** Bytes of inbound bodies a tenant may post per minute (a rate, beside the count). */
  readonly inboundBytesPerMinute: number;
  /** Largest inbound event body, in bytes (413 beyond it). */
  readonly inboundMaxBytes: number;
  /** Largest event envelope an inbound event may become once escaped (413 beyond it); must fit NATS's max_payload. */
  readonly eventMaxBytes: number;
  /** Replays of one delivery per hour (a rate). */
  readonly replaysPerDeliveryPerHour: number;
}
