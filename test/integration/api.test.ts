import { createApiKey, keyStore } from '../../src/store/key-store.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { derivedEvent } from '../../src/core/event.js';
import { API_ERROR_STATUS, ApiError } from '../../src/http/api-error.js';
import { buildApp } from '../../src/http/app.js';
import type { Fix } from '../../src/core/fix.js';
import { apiDeps, setup, storeBatch, type TestEnv } from '../support/setup.js';
import { DocumentedAnswers, everyAnswerDocumented } from './documented-answers.js';

let world: TestEnv;
let app: ReturnType<typeof buildApp>;
let answers: DocumentedAnswers | undefined;
let acmeKey: string;
let globexKey: string;
const changes: string[] = [];
const T0 = Date.parse('2026-11-22T08:00:00Z');

function fix(tenantId: string, deviceId: string, ts: number): Fix {
  return { tenantId, deviceId, ts, lat: 52.5, lon: 13.4, speed: 10, heading: null, altitude: null, accuracy: null, satellites: null, ignition: true, odometer: null, attributes: null };
}

beforeAll(async () => {
  world = await setup();
  app = buildApp(apiDeps(world, { geofencesChanged: async (tenantId) => void changes.push(tenantId) }));
  answers = new DocumentedAnswers(app);
  acmeKey = (await createApiKey(keyStore(world.db), 'acme')).key;
  globexKey = (await createApiKey(keyStore(world.db), 'globex')).key;
  const events = Array.from({ length: 120 }, (_, i) => derivedEvent('acme', `veh-${i % 3}`, i % 2 ? 'ignition.on' : 'ignition.off', T0 + i * 1000, { lat: 1, lon: 2 }));
  await storeBatch(world.db, {
    fixes: [fix('acme', 'veh-0', T0), fix('acme', 'veh-1', T0), fix('globex', 'truck-9', T0)],
    events: [...events, derivedEvent('globex', 'truck-9', 'ignition.on', T0, { lat: 1, lon: 2 })],
  });
});

afterAll(async () => {
  await app?.close();
  await world?.dispose();
});

const get = (url: string, key?: string, bearer = false) =>
  app.inject({ method: 'GET', url, headers: key === undefined ? {} : bearer ? { authorization: `Bearer ${key}` } : { 'x-integration-key': key } });

describe('api - keys and tenants', () => {
  it('refuses a missing or unknown key with 401 and the error shape, but serves health without one', async () => {
    for (const response of [await get('/v1/events'), await get('/v1/events', 'fwk_nope')]) {
      expect(response.statusCode).toBe(401);
      expect(response.json()).toMatchObject({ error: { code: 'unauthorized' } });
    }
    expect((await get('/api/integration/health')).statusCode).toBe(200);
  });

  it('accepts the key as a Bearer token too', async () => {
    expect((await get('/v1/devices', acmeKey, true)).statusCode).toBe(200);
  });

  it("shows a key only its own tenant's events and devices", async () => {
    const acme = (await get('/v1/events?limit=100', acmeKey)).json();
    expect(acme.count).toBe(120);
    expect(acme.results.every((e: { tenant_id: string }) => e.tenant_id === 'acme')).toBe(true);
    const globex = (await get('/v1/events', globexKey)).json();
    expect(globex.count).toBe(1);
    expect((await get('/v1/devices', globexKey)).json().results.map((d: { id: string }) => d.id)).toEqual(['truck-9']);
    expect((await get('/v1/devices/veh-0', globexKey)).statusCode).toBe(404);
    expect((await get('/v1/devices/veh-0', acmeKey)).json()).toMatchObject({ id: 'veh-0', last_position: { lat: 52.5, lon: 13.4 } });
  });
});

describe('api - lists', () => {
  it('pages with limit (default 50, at most 100) and offset, with next and previous links', async () => {
    const first = (await get('/v1/events?type=ignition.on', acmeKey)).json();
    expect(first.count).toBe(60);
    expect(first.results).toHaveLength(50);
    expect(first.previous).toBeNull();
    expect(first.next).toBe('/v1/events?type=ignition.on&limit=50&offset=50');
    const second = (await get(first.next, acmeKey)).json();
    expect(second.results).toHaveLength(10);
    expect(second.next).toBeNull();
    expect(second.previous).toBe('/v1/events?type=ignition.on&limit=50&offset=0');
    expect((await get('/v1/events?limit=1000', acmeKey)).json().results).toHaveLength(100);
  });

  it('filters events by device and time', async () => {
    const body = (await get(`/v1/events?device_id=veh-1&from=${new Date(T0 + 10_000).toISOString()}&to=${new Date(T0 + 20_000).toISOString()}`, acmeKey)).json();
    // veh-1 has the events of every third second from the first: 10, 13, 16 and 19 s fall in [10 s, 20 s).
    expect(body.results.map((e: { occurred_at: string }) => (Date.parse(e.occurred_at) - T0) / 1000)).toEqual([10, 13, 16, 19]);
  });

  it('answers a bad query with 400 and a message naming the parameter', async () => {
    const response = await get('/v1/events?limit=-3', acmeKey);
    expect(response.statusCode).toBe(400);
    expect(response.json()).toEqual({ error: { code: 'invalid_request', message: 'querystring.limit must be a whole number >= 0, got "-3"' } });
    expect((await get('/v1/events?from=yesterday', acmeKey)).json().error.message).toMatch(/from must be an RFC 3339 date-time/);
    expect((await get('/v1/nothing', acmeKey)).statusCode).toBe(404);
  });
});

describe('api - positions and the integration views', () => {
  it('serves a device history by time, and the latest position by vehicle_id', async () => {
    const history = (await get(`/v1/devices/veh-0/positions?from=${new Date(T0 - 1000).toISOString()}`, acmeKey)).json();
    expect(history.count).toBe(1);
    expect(history.results[0]).toMatchObject({ lat: 52.5, lon: 13.4, speed: 10, ignition: true });
    expect((await get('/v1/devices/truck-9/positions', acmeKey)).statusCode).toBe(404);
    // Active means seen within active_within_s (24 h by default): truck-9's fix is from T0, long ago.
    await storeBatch(world.db, { fixes: [fix('globex', 'truck-now', Date.now() - 120_000)] });
    expect((await get('/api/integration/vehicles', globexKey)).json()).toMatchObject({ count: 1, results: [{ id: 'truck-now' }] });
    expect((await get('/api/integration/vehicles?active_within_s=60', globexKey)).json()).toEqual({ count: 0, results: [] });
    expect((await get('/api/integration/vehicles?active_within_s=9999999', globexKey)).statusCode).toBe(400);
    expect((await get('/api/integration/vehicle-location?vehicle_id=veh-1', acmeKey)).json()).toMatchObject({ id: 'veh-1' });
    expect((await get('/api/integration/vehicle-location', acmeKey)).statusCode).toBe(400);
    expect((await get('/api/integration/vehicles')).statusCode).toBe(401);
  });

  it('takes a dispatcher\'s driver for a known device (202), and refuses an unknown device or a malformed driver', async () => {
    const put = (url: string, payload: object) => app.inject({ method: 'PUT', url, headers: { 'x-integration-key': acmeKey }, payload });
    const accepted = await put('/v1/devices/veh-0/driver', { driver_id: 'drv-1' });
    expect(accepted.statusCode).toBe(202);
    expect(accepted.json()).toEqual({ device_id: 'veh-0', driver_id: 'drv-1' });
    expect((await put('/v1/devices/veh-0/driver', { driver_id: null })).statusCode).toBe(202);
    expect((await put('/v1/devices/truck-9/driver', { driver_id: 'drv-1' })).statusCode).toBe(404);
    expect((await put('/v1/devices/veh-0/driver', {})).json().error.message).toMatch(/driver_id/);
    expect((await put('/v1/devices/veh-0/driver', { driver_id: 'drv-1', note: 'x' })).statusCode).toBe(400);
  });
});

describe('api - inbound webhook audit log', () => {
  it('keeps events other products post, per tenant, and refuses a body that is not an object', async () => {
    const post = (body: unknown, key = acmeKey) =>
      app.inject({ method: 'POST', url: '/api/integration/webhook', headers: { 'x-integration-key': key }, payload: body as object });
    expect((await post({ type: 'order.created', order: 42 })).statusCode).toBe(202);
    expect((await post({ type: 'order.shipped', order: 42 })).statusCode).toBe(202);
    expect((await post({ type: 'other' }, globexKey)).statusCode).toBe(202);
    expect((await post([1, 2])).statusCode).toBe(400);
    const dvir = await post({ type: 'dvir.submitted', id: 'insp-1', vehicle_id: 'veh-0', defects: [] });
    expect(dvir.statusCode).toBe(202);
    expect(dvir.json().event_id).toMatch(/^evt_/);
    const log = (await get('/v1/inbound-events', acmeKey)).json();
    expect(log.count).toBe(3);
    expect(log.results.map((r: { body: { type: string } }) => r.body.type)).toEqual(['dvir.submitted', 'order.shipped', 'order.created']);
  });
});

describe('api - errors', () => {
  it('maps every error code to a 4xx or 5xx status', () => {
    for (const [code, status] of Object.entries(API_ERROR_STATUS)) {
      expect(new ApiError(code as keyof typeof API_ERROR_STATUS, 'x').status, code).toBe(status);
      expect(status >= 400 && status < 600, code).toBe(true);
    }
  });
});

describe('api - geofences', () => {
  const square = { type: 'Polygon', coordinates: [[[13, 52], [13.01, 52], [13.01, 52.01], [13, 52.01], [13, 52]]] };
  const send = (method: 'POST' | 'PUT' | 'DELETE', url: string, body: unknown, key = acmeKey) =>
    app.inject({ method, url, headers: { 'x-integration-key': key }, ...(body === undefined ? {} : { payload: body as object }) });

  it('creates, reads, replaces and deletes a geofence, telling the processors each time', async () => {
    changes.length = 0;
    const created = await send('POST', '/v1/geofences', { type: 'Feature', properties: { id: 'depot', name: 'Depot' }, geometry: square });
    expect(created.statusCode).toBe(201);
    expect(created.json()).toMatchObject({ properties: { id: 'depot', name: 'Depot' } });
    expect((await send('POST', '/v1/geofences', { type: 'Feature', properties: { id: 'depot' }, geometry: square })).statusCode).toBe(409);
    expect((await get('/v1/geofences/depot', acmeKey)).json().properties.name).toBe('Depot');
    expect((await get('/v1/geofences/depot', globexKey)).statusCode).toBe(404);
    const replaced = await send('PUT', '/v1/geofences/depot', { type: 'Feature', properties: { name: 'Main depot' }, geometry: square });
    expect(replaced.json()).toMatchObject({ properties: { id: 'depot', name: 'Main depot' } });
    expect((await send('DELETE', '/v1/geofences/depot', undefined, globexKey)).statusCode).toBe(404);
    expect((await send('DELETE', '/v1/geofences/depot', undefined)).statusCode).toBe(204);
    expect((await get('/v1/geofences/depot', acmeKey)).statusCode).toBe(404);
    expect(changes).toEqual(['acme', 'acme', 'acme']);
  });

  it('imports a FeatureCollection and lists it with pagination', async () => {
    const features = Array.from({ length: 3 }, (_, i) => ({ type: 'Feature', properties: { id: `zone-${i}` }, geometry: square }));
    const imported = await send('POST', '/v1/geofences/import', { type: 'FeatureCollection', features });
    expect(imported.json()).toEqual({ imported: 3 });
    const list = (await get('/v1/geofences?limit=2', acmeKey)).json();
    expect(list.count).toBe(3);
    expect(list.results.map((f: { properties: { id: string } }) => f.properties.id)).toEqual(['zone-0', 'zone-1']);
  });

  it('refuses invalid GeoJSON with 400 and the reason, never a 500', async () => {
    for (const body of [
      { type: 'Feature', geometry: { type: 'Polygon', coordinates: [[[0, 0], [1, 0], [1, 1], [0, 1]]] } },
      { type: 'Feature', geometry: { type: 'LineString', coordinates: [[0, 0], [1, 1]] } },
      { type: 'Feature', properties: { id: 'x', speed_limit: 'fast' }, geometry: square },
    ]) {
      const response = await send('POST', '/v1/geofences', body);
      expect(response.statusCode, JSON.stringify(body)).toBe(400);
      expect(response.json().error.code).toBe('invalid_request');
    }
    expect((await send('POST', '/v1/geofences/import', { type: 'Feature' })).json().error.message).toMatch(/FeatureCollection/);
    // Text that is not JSON, sent as text: the media type is refused, in the same error shape.
    const text = await send('POST', '/v1/geofences', 'not json at all');
    expect(text.statusCode).toBe(415);
    expect(text.json().error.code).toBe('unsupported_media_type');
  });
});

everyAnswerDocumented(() => answers, 40);
