import { describe, expect, it } from 'vitest';
import type { Endpoint } from '../../../src/core/delivery.js';
import { plannedDeliveries, type FannedEvent } from '../../../src/webhooks/fan-out.js';

function endpoint(id: string, tenantId: string, events: string[]): Endpoint {
  return { id, tenantId, url: `https://${id}.example/`, events, secret: 'whsec_x', headers: {} };
}

function event(id: string, tenantId: string, type: string): FannedEvent {
  return { header: { id, tenantId, type }, body: `{"id":"${id}"}` };
}

describe('the webhook fan-out plan', () => {
  it('gives each event to the endpoints of its own tenant whose subscription names its type', () => {
    const endpoints = [endpoint('a-all', 'acme', ['*']), endpoint('a-geo', 'acme', ['geofence.*']), endpoint('g-all', 'globex', ['*'])];
    const planned = plannedDeliveries([event('e1', 'acme', 'geofence.enter'), event('e2', 'acme', 'ignition.on'), event('e3', 'globex', 'trip.completed')], endpoints, () => 10);
    expect(planned.map((d) => `${d.eventId}->${d.endpoint.id}`)).toEqual(['e1->a-all', 'e1->a-geo', 'e2->a-all', 'e3->g-all']);
    expect(planned.every((d) => d.leased)).toBe(true);
    expect(planned[0]).toMatchObject({ eventType: 'geofence.enter', body: '{"id":"e1"}' });
  });

  it('leases only what fits in each endpoint\'s queue; the rest waits for the poll', () => {
    const endpoints = [endpoint('full', 'acme', ['*']), endpoint('roomy', 'acme', ['*'])];
    const events = ['e1', 'e2', 'e3'].map((id) => event(id, 'acme', 'ignition.on'));
    const planned = plannedDeliveries(events, endpoints, (id) => (id === 'full' ? 1 : 5));
    expect(planned.filter((d) => d.endpoint.id === 'full').map((d) => d.leased)).toEqual([true, false, false]);
    expect(planned.filter((d) => d.endpoint.id === 'roomy').map((d) => d.leased)).toEqual([true, true, true]);
  });

  it('plans nothing for a tenant without endpoints', () => {
    expect(plannedDeliveries([event('e1', 'nobody', 'ignition.on')], [endpoint('a', 'acme', ['*'])], () => 10)).toEqual([]);
  });
});
