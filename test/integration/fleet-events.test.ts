import { createApiKey, keyStore } from '../../src/store/key-store.js';
import { headers as natsHeaders } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../src/server.js';
import { streamEnvelopes, type EventEnvelope } from './ignition-fleet.js';
import { jsonBytes, setup, silentLog, waitFor, type TestEnv } from '../support/setup.js';

// The event types of the fleet platforms (contract section 3), end to end: reports published on
// NATS, or requests to the HTTP API, in; envelopes on EVENTS out.
let world: TestEnv;
let server: RunningServer;
let key: string;

const RULES = {
  overspeedMinDurationS: 0, postedSpeedToleranceKmh: 5, heartbeatIntervalS: 3600, positionRecorded: true, positionsBatch: true,
  attributeThresholds: [{ attribute: 'temperature', above: 8, minDurationS: 60, hysteresis: 0.5 }],
};
// Whole seconds, three hours ago: the drive spans an hour.
const START = Math.floor(Date.now() / 1000) * 1000 - 3 * 3600_000;

beforeAll(async () => {
  world = await setup();
  await world.db.query('INSERT INTO tenants (id, rules) VALUES ($1, $2)', ['cold', JSON.stringify(RULES)]);
  server = await startServer(world.config, silentLog);
  key = (await createApiKey(keyStore(world.db), 'cold')).key;
});

afterAll(async () => {
  await server?.stop();
  await world?.dispose();
});

function api(method: string, path: string, body?: unknown): Promise<Response> {
  return fetch(`http://127.0.0.1:${server.httpPort}${path}`, {
    method, headers: { 'x-integration-key': key, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

async function waitForEvents(what: string, done: (events: EventEnvelope[]) => boolean): Promise<EventEnvelope[]> {
  let events: EventEnvelope[] = [];
  await waitFor(what, async () => done((events = await streamEnvelopes(world, 'cold'))), 30_000);
  return events;
}

const ofType = (events: EventEnvelope[], type: string) => events.filter((e) => e.type === type);

describe('fleet platform events, NATS or HTTP in, EVENTS out', () => {
  it('derives position.recorded, positions.batch, thresholds, drivers, the posted limit and the heartbeat from reports', async () => {
    const report = (s: number, extra: Record<string, unknown>) => ({ ts: START + s * 1000, lat: 48.1, lon: 11.5 + s * 1e-5, ...extra });
    const reports = [
      report(0, { speed: 40, posted_speed_limit: 50, driver_id: 'anna', odometer: 1000, attributes: { temperature: 4 } }),
      report(60, { speed: 60, posted_speed_limit: 50, attributes: { temperature: 9 } }),
      report(120, { speed: 45, posted_speed_limit: 50, attributes: { temperature: 9.5 } }),
      report(180, { speed: 45, attributes: { temperature: 7.8 } }),
      report(240, { speed: 45, attributes: { temperature: 7 } }),
      report(30, { speed: 45 }),
      report(3600, { speed: 30, odometer: 1042.5 }),
    ];
    for (const r of reports) await world.publish('cold', 'reefer-1', jsonBytes(r));
    const events = await waitForEvents('the drive\'s events', (all) => ofType(all, 'device.heartbeat').length > 0 && ofType(all, 'position.recorded').length === 7);

    expect(ofType(events, 'position.recorded').map((e) => e.occurred_at)).toEqual(reports.map((r) => new Date(r.ts).toISOString()));
    const batches = ofType(events, 'positions.batch');
    expect(batches.reduce((n, e) => n + (e.data.count as number), 0)).toBe(7);
    expect(batches.every((e) => e.device_id === null && JSON.stringify(e.data.device_ids) === '["reefer-1"]')).toBe(true);
    expect(ofType(events, 'driver.assigned').map((e) => e.data)).toEqual([{ driver_id: 'anna', previous_driver_id: null, source: 'device' }]);
    expect(ofType(events, 'overspeed.started').map((e) => e.data)).toEqual([{ speed: 60, limit: 50, limit_source: 'posted', lat: 48.1, lon: 11.5006 }]);
    expect(ofType(events, 'overspeed.ended')).toHaveLength(1);
    expect(ofType(events, 'attribute.threshold_exceeded').map((e) => [e.occurred_at, e.data])).toEqual([
      [new Date(START + 120_000).toISOString(), { attribute: 'temperature', value: 9.5, limit: 8, direction: 'above', lat: 48.1, lon: 11.5012 }],
    ]);
    expect(ofType(events, 'attribute.threshold_cleared').map((e) => e.data)).toEqual([
      { attribute: 'temperature', value: 7, limit: 8, direction: 'above', duration_seconds: 180, max_value: 9.5 },
    ]);
    expect(ofType(events, 'device.heartbeat').map((e) => e.data)).toEqual([
      { last_seen_at: new Date(START + 3_600_000).toISOString(), lat: 48.1, lon: 11.536, odometer: 1042.5 },
    ]);
  });

  it('assigns and removes a driver through PUT /v1/devices/{id}/driver, in order with the reports', async () => {
    await waitFor('the device listed', async () => (await api('GET', '/v1/devices/reefer-1')).status === 200);
    const assigned = await api('PUT', '/v1/devices/reefer-1/driver', { driver_id: 'dispatch-9' });
    expect(assigned.status).toBe(202);
    expect(await assigned.json()).toEqual({ device_id: 'reefer-1', driver_id: 'dispatch-9' });
    expect((await api('PUT', '/v1/devices/reefer-1/driver', { driver_id: null })).status).toBe(202);
    const events = await waitForEvents('the dispatcher\'s changes', (all) => ofType(all, 'driver.unassigned').length > 0);
    expect(events.filter((e) => e.type.startsWith('driver.')).map((e) => [e.type, e.data])).toEqual([
      ['driver.assigned', { driver_id: 'anna', previous_driver_id: null, source: 'device' }],
      ['driver.assigned', { driver_id: 'dispatch-9', previous_driver_id: 'anna', source: 'api' }],
      ['driver.unassigned', { driver_id: null, previous_driver_id: 'dispatch-9', source: 'api' }],
    ]);

    const unknown = await api('PUT', '/v1/devices/nobody/driver', { driver_id: 'x' });
    expect(unknown.status).toBe(404);
    const bad = await api('PUT', '/v1/devices/reefer-1/driver', { driver_id: 'two words' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { message: string } }).error.message).toMatch(/driver_id/);
  });

  it('refuses a driver assignment a device forges on its own subject: dead-lettered as forged_command, no event', async () => {
    const h = natsHeaders();
    h.set('Fencewire-Command', 'assign-driver');
    h.set('Fencewire-Command-Signature', 'f'.repeat(64));
    await world.js.publish(`${world.topology.telemetryPrefix}cold.reefer-1`, jsonBytes({ driver_id: 'mallory' }), { headers: h });
    const letter = async () => world.jsm.streams.getMessage(world.topology.dlqStream, { last_by_subj: `${world.topology.dlqPrefix}cold` }).catch(() => null);
    await waitFor('the forged command dead-lettered', async () => (await letter())?.header.get('Fencewire-Error-Code') === 'forged_command', 10_000);
    const events = await streamEnvelopes(world, 'cold');
    expect(events.filter((e) => (e.data as { driver_id?: string }).driver_id === 'mallory')).toEqual([]);
  });

  it('re-emits an inbound dvir.* as dvir.submitted once, however often it is sent, and keeps other inbound events to the audit log', async () => {
    const dvir = {
      type: 'dvir.submitted', id: 'insp-77', vehicle_id: 'reefer-1', occurred_at: new Date(START + 7_200_000).toISOString(),
      driver: 'anna', defects: [{ component: 'brakes', severity: 'major', note: 'Bremse zieht nach links' }],
    };
    const first = await api('POST', '/api/integration/webhook', dvir);
    expect(first.status).toBe(202);
    const { event_id: eventId } = (await first.json()) as { event_id: string };
    const again = await api('POST', '/api/integration/webhook', dvir);
    expect(((await again.json()) as { event_id: string }).event_id).toBe(eventId);
    const other = await api('POST', '/api/integration/webhook', { type: 'order.created', id: 'o-1' });
    expect(await other.json()).not.toHaveProperty('event_id');
    // One that names no device goes down a subject of its own, and is an event of no device.
    const yard = { type: 'dvir.yard_check', id: 'yard-3', occurred_at: new Date(START + 7_300_000).toISOString() };
    const { event_id: yardId } = (await (await api('POST', '/api/integration/webhook', yard)).json()) as { event_id: string };

    const events = await waitForEvents('the inspection reports', (all) => ofType(all, 'dvir.submitted').length > 1);
    // A moment for a second copy to arrive, were there one.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const onStream = ofType(await streamEnvelopes(world, 'cold'), 'dvir.submitted');
    expect(onStream).toEqual([
      { id: eventId, type: 'dvir.submitted', tenant_id: 'cold', device_id: 'reefer-1', occurred_at: dvir.occurred_at, data: dvir },
      { id: yardId, type: 'dvir.submitted', tenant_id: 'cold', device_id: null, occurred_at: yard.occurred_at, data: yard },
    ]);
    expect(ofType(events, 'order.created')).toEqual([]);
    const listed = (await (await api('GET', '/v1/events?type=dvir.submitted')).json()) as { count: number };
    expect(listed.count).toBe(2);
  });
});
