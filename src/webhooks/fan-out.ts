import { throttleKey, type Endpoint, type NewDelivery } from '../core/delivery.js';
import type { EventHeader } from './event-message.js';
import { matchesSubscription } from './subscription.js';

/** An event read off `EVENTS`: what its subject and id say, and its envelope as sent. */
export interface FannedEvent {
  readonly header: EventHeader;
  readonly body: string;
}

/**
 * The deliveries of a batch of events: one per enabled endpoint of the event's tenant whose
 * subscription names its type. Only what fits in an endpoint's queue (`room`) is leased, to be
 * sent at once; the rest waits in the table for the poll, which takes it as room frees, so a
 * full (slow, dead) endpoint costs the fan-out nothing beyond its rows.
 */
export function plannedDeliveries(events: readonly FannedEvent[], endpoints: readonly Endpoint[], room: (endpointId: string) => number): NewDelivery[] {
  const byTenant = new Map<string, Endpoint[]>();
  for (const endpoint of endpoints) {
    const list = byTenant.get(endpoint.tenantId);
    if (list) list.push(endpoint);
    else byTenant.set(endpoint.tenantId, [endpoint]);
  }
  const deliveries: NewDelivery[] = [];
  const taken = new Map<string, number>();
  for (const { header, body } of events) {
    for (const endpoint of byTenant.get(header.tenantId) ?? []) {
      if (!matchesSubscription(endpoint.events, header.type)) continue;
      const used = taken.get(endpoint.id) ?? 0;
      const leased = used < room(endpoint.id);
      if (leased) taken.set(endpoint.id, used + 1);
      const throttle = endpoint.throttleS === null ? null : throttleKey(header.type, body);
      deliveries.push({ endpoint, eventId: header.id, eventType: header.type, body, leased, throttle });
    }
  }
  return deliveries;
}
