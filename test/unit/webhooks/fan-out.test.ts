import { describe, expect, it } from 'vitest';
import { throttleKey, throttled, type Endpoint } from '../../../src/core/delivery.js';
import { plannedDeliveries, type FannedEvent } from '../../../src/webhooks/fan-out.js';

function endpoint(id: string, tenantId: string, events: string[]): Endpoint {
  return { id, tenantId, url: `https://${id}.example/`, events, secret: 'whsec_x', headers: {}, throttleS: null };
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

describe('throttle - at most one delivery per device, type and geofence in a window', () => {
  const d = (key: string, s: number) => ({ key, occurredAt: s * 1000 });

  it('throttles what comes within the window of one that goes, in event-time order, whatever order they arrive in', () => {
    // a at 0 goes, at 30 not, at 60 (a whole window after 0) goes, at 61 not; b is another key.
    expect([...throttled([d('a', 0), d('a', 30), d('b', 10), d('a', 60), d('a', 61)], 60, new Map())].sort()).toEqual([1, 4]);
    // The same events arriving latest first: the same ones go.
    expect([...throttled([d('a', 61), d('a', 60), d('b', 10), d('a', 30), d('a', 0)], 60, new Map())].sort()).toEqual([0, 3]);
  });

  it('counts what was delivered before, on either side in time', () => {
    expect([...throttled([d('a', 100), d('a', 200)], 60, new Map([['a', [150_000]]]))]).toEqual([0, 1]);
    expect([...throttled([d('a', 100)], 60, new Map([['a', [40_000]], ['b', [100_000]]]))]).toEqual([]);
  });

  it('keys an envelope by device, type and geofence, and leaves what is not an envelope unthrottled', () => {
    const body = JSON.stringify({ id: 'e', type: 'geofence.enter', device_id: 'v1', occurred_at: '2026-12-03T08:00:00.000Z', data: { geofence_id: 'yard' } });
    expect(throttleKey('geofence.enter', body)).toEqual({ key: '["v1","geofence.enter","yard"]', occurredAt: Date.parse('2026-12-03T08:00:00.000Z') });
    expect(throttleKey('device.offline', JSON.stringify({ device_id: 'v1', occurred_at: '2026-12-03T08:00:00Z', data: {} }))?.key).toBe('["v1","device.offline",""]');
    expect(throttleKey('x', 'not json')).toBeNull();
    expect(throttleKey('x', '{"occurred_at": "yesterday"}')).toBeNull();
  });
});
