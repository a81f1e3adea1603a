import { apiStore } from '../../src/store/api-store.js';
import { createApiKey, keyStore } from '../../src/store/key-store.js';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/http/app.js';
import { createPool } from '../../src/store/database.js';
import { apiDeps, setup, silentLog, type TestEnv } from '../support/setup.js';
import { DocumentedAnswers, everyAnswerDocumented } from './documented-answers.js';

let world: TestEnv;
let app: FastifyInstance;
let answers: DocumentedAnswers | undefined;
let acmeKey: string;
let globexKey: string;

beforeAll(async () => {
  world = await setup();
  // Private addresses are refused here, as in production.
  app = buildApp(apiDeps(world));
  answers = new DocumentedAnswers(app);
  acmeKey = (await createApiKey(keyStore(world.db), 'acme')).key;
  globexKey = (await createApiKey(keyStore(world.db), 'globex')).key;
  expect((await call('POST', '/v1/geofences', { type: 'Feature', properties: { id: 'zone' }, geometry: square })).statusCode).toBe(201);
});

afterAll(async () => {
  await app?.close();
  await world?.dispose();
});

type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

function call(method: Method, url: string, body?: unknown, key = acmeKey, headers: Record<string, string> = {}) {
  return app.inject({
    method, url, headers: { 'x-integration-key': key, ...headers },
    ...(body === undefined ? {} : typeof body === 'string' ? { payload: body, headers: { 'x-integration-key': key, 'content-type': 'application/json', ...headers } } : { payload: body as object }),
  });
}

const square = { type: 'Polygon', coordinates: [[[13, 52], [13.01, 52], [13.01, 52.01], [13, 52.01], [13, 52]]] };
const bowTie = { type: 'Polygon', coordinates: [[[13, 52], [13.01, 52.01], [13.01, 52], [13, 52.01], [13, 52]]] };
const hook = { url: 'https://hooks.example.com/fencewire', events: ['geofence.*'] };
const huge = JSON.stringify({ type: 'FeatureCollection', features: [{ type: 'Feature', properties: { name: 'x'.repeat(1_100_000) }, geometry: square }] });

describe('api - bad requests get a 4xx with the error shape, never a 500', () => {
  it.each<[string, Method, string, unknown, number, RegExp]>([
    ['unknown query parameter', 'GET', '/v1/events?colour=red', undefined, 400, /querystring has an unknown property "colour"/],
    ['negative limit', 'GET', '/v1/devices?limit=-1', undefined, 400, /querystring.limit must be a whole number >= 0, got "-1"/],
    ['offset not a number', 'GET', '/v1/geofences?offset=ten', undefined, 400, /querystring.offset must be a whole number/],
    ['bad time', 'GET', '/v1/devices/veh-1/positions?from=monday', undefined, 400, /querystring.from must be an RFC 3339 date-time, got "monday"/],
    ['unknown parameter on vehicles', 'GET', '/api/integration/vehicles?all=1', undefined, 400, /unknown property "all"/],
    ['missing vehicle_id', 'GET', '/api/integration/vehicle-location', undefined, 400, /must have required property 'vehicle_id'/],
    ['webhook log status', 'GET', '/v1/webhooks/whk_x/deliveries?status=lost', undefined, 400, /querystring.status must be one of "pending", "succeeded", "failed", "throttled", got "lost"/],
    ['audit log limit', 'GET', '/v1/inbound-events?limit=many', undefined, 400, /querystring.limit must be a whole number/],
    ['malformed JSON', 'POST', '/v1/geofences', '{"type": "Feature",', 400, /JSON/],
    ['geofence with an unknown field', 'POST', '/v1/geofences', { type: 'Feature', geometry: square, colour: 'red' }, 400, /body has an unknown property "colour"/],
    ['geofence of the wrong type', 'POST', '/v1/geofences', { type: 'Feature', geometry: square, properties: { speed_limit: 'fast' } }, 400, /body.properties.speed_limit must be number,null/],
    ['geofence with a fractional priority', 'POST', '/v1/geofences', { type: 'Feature', geometry: square, properties: { priority: 1.5 } }, 400, /body.properties.priority must be integer/],
    ['geofence with device_tags that are not tags', 'POST', '/v1/geofences', { type: 'Feature', geometry: square, properties: { device_tags: ['a b'] } }, 400, /properties.device_tags must be a non-empty array of device tags/],
    ['geofence with a negative confirm_s', 'POST', '/v1/geofences', { type: 'Feature', geometry: square, properties: { confirm_s: -1 } }, 400, /body.properties.confirm_s must be >= 0/],
    ['geofence that is a GeometryCollection', 'POST', '/v1/geofences', { type: 'Feature', geometry: { type: 'GeometryCollection', coordinates: [] } }, 400, /body.geometry.type must be one of "Polygon", "MultiPolygon", "Point", "LineString", "MultiLineString"/],
    ['corridor without a width', 'POST', '/v1/geofences', { type: 'Feature', geometry: { type: 'LineString', coordinates: [[0, 0], [1, 1]] } }, 400, /a LineString geofence \(a corridor\) needs properties.width_m/],
    ['geofence with an open ring', 'POST', '/v1/geofences', { type: 'Feature', geometry: { type: 'Polygon', coordinates: [[[0, 0], [1, 0], [1, 1], [0, 1]]] } }, 400, /geometry.coordinates\[0\] is not closed/],
    ['self-intersecting geofence', 'POST', '/v1/geofences', { type: 'Feature', properties: { id: 'bow' }, geometry: bowTie }, 400, /geometry is self-intersecting: ring 0 edge 0 crosses ring 0 edge 2/],
    ['self-intersecting replacement', 'PUT', '/v1/geofences/zone', { type: 'Feature', geometry: bowTie }, 400, /geometry is self-intersecting/],
    ['replacement of an unknown geofence', 'PUT', '/v1/geofences/nowhere', { type: 'Feature', geometry: square }, 404, /no geofence "nowhere"/],
    ['import that is not a collection', 'POST', '/v1/geofences/import', { type: 'Feature', geometry: square }, 400, /body must have required property 'features'/],
    ['import with a self-intersecting feature', 'POST', '/v1/geofences/import', { type: 'FeatureCollection', features: [{ type: 'Feature', geometry: square }, { type: 'Feature', geometry: bowTie }] }, 400, /features\[1\]: geometry is self-intersecting/],
    ['oversized body', 'POST', '/v1/webhooks', huge, 413, /body/i],
    ['inbound event that is an array', 'POST', '/api/integration/webhook', [1, 2], 400, /body must be object/],
    ['webhook without events', 'POST', '/v1/webhooks', { url: hook.url }, 400, /body must have required property 'events'/],
    ['webhook with an unknown field', 'POST', '/v1/webhooks', { ...hook, retries: 9 }, 400, /body has an unknown property "retries"/],
    ['webhook events of the wrong type', 'POST', '/v1/webhooks', { ...hook, events: 'geofence.*' }, 400, /body.events must be array/],
    ['webhook with a bad pattern', 'POST', '/v1/webhooks', { ...hook, events: ['geofence*'] }, 400, /"geofence\*" is not an event type/],
    ['webhook with a bad secret', 'POST', '/v1/webhooks', { ...hook, secret: 'hunter2' }, 400, /secret must start with "whsec_"/],
    ['webhook with a reserved header', 'POST', '/v1/webhooks', { ...hook, headers: { 'X-Signature': 'x' } }, 400, /header "X-Signature" is set by fencewire/],
    ['webhook to loopback', 'POST', '/v1/webhooks', { ...hook, url: 'http://127.0.0.1:8080/hook' }, 400, /127\.0\.0\.1 is a private, loopback, link-local or reserved address; set WEBHOOK_ALLOW_PRIVATE=true/],
    ['webhook to the metadata service', 'POST', '/v1/webhooks', { ...hook, url: 'http://169.254.169.254/latest' }, 400, /169\.254\.169\.254/],
    ['webhook to another scheme', 'POST', '/v1/webhooks', { ...hook, url: 'file:///etc/passwd' }, 400, /url must use http or https/],
    ['empty webhook change', 'PUT', '/v1/webhooks/whk_x', {}, 400, /body must NOT have fewer than 1 properties/],
    ['replay of an unknown delivery', 'POST', '/v1/deliveries/dlv_nope/replay', undefined, 404, /no delivery "dlv_nope"/],
    ['test of an unknown endpoint', 'POST', '/v1/webhooks/whk_nope/test', undefined, 404, /no webhook endpoint "whk_nope"/],
    ['unknown route', 'GET', '/v1/nothing', undefined, 404, /no route GET \/v1\/nothing/],
  ])('%s', async (_name, method, url, body, status, message) => {
    const response = await call(method, url, body);
    expect(response.statusCode).toBe(status);
    const answer = response.json();
    expect(Object.keys(answer)).toEqual(['error']);
    expect(answer.error.message).toMatch(message);
    expect(typeof answer.error.code).toBe('string');
  });
});

describe('api - webhook endpoints', () => {
  it('shows a generated secret once, never echoes a given one, and rotates it on PUT', async () => {
    const created = await call('POST', '/v1/webhooks', { ...hook, headers: { Authorization: 'Bearer t' }, description: 'dispatch' });
    expect(created.statusCode).toBe(201);
    const endpoint = created.json();
    expect(endpoint).toMatchObject({ id: expect.stringMatching(/^whk_/), url: hook.url, events: ['geofence.*'], enabled: true, headers: { Authorization: 'Bearer t' }, description: 'dispatch' });
    expect(endpoint.secret).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
    expect((await call('GET', `/v1/webhooks/${endpoint.id}`)).json()).not.toHaveProperty('secret');
    const given = await call('POST', '/v1/webhooks', { ...hook, secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' });
    expect(given.json()).not.toHaveProperty('secret');
    const changed = await call('PUT', `/v1/webhooks/${endpoint.id}`, { enabled: false, events: ['*'], secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' });
    expect(changed.json()).toMatchObject({ id: endpoint.id, url: hook.url, enabled: false, events: ['*'], description: 'dispatch' });
    const stored = await world.db.query('SELECT secret FROM webhook_endpoints WHERE id = $1', [endpoint.id]);
    expect(stored.rows[0].secret).toBe('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw');
  });

  it("never lets one tenant's key see or change another tenant's endpoints, logs or deliveries", async () => {
    const endpoint = (await call('POST', '/v1/webhooks', hook)).json();
    await world.db.query(
      `INSERT INTO webhook_deliveries (id, endpoint_id, tenant_id, event_id, event_type, body, status) VALUES ('dlv_acme1', $1, 'acme', 'evt_1', 'geofence.enter', '{}', 'failed')`,
      [endpoint.id],
    );
    for (const [method, url, body] of [
      ['GET', `/v1/webhooks/${endpoint.id}`], ['PUT', `/v1/webhooks/${endpoint.id}`, { enabled: false }], ['DELETE', `/v1/webhooks/${endpoint.id}`],
      ['GET', `/v1/webhooks/${endpoint.id}/deliveries`], ['POST', `/v1/webhooks/${endpoint.id}/test`], ['POST', '/v1/deliveries/dlv_acme1/replay'],
    ] as [Method, string, unknown?][]) {
      const response = await call(method, url, body, globexKey);
      expect(response.statusCode, `${method} ${url}`).toBe(404);
    }
    expect((await call('GET', '/v1/webhooks', undefined, globexKey)).json()).toMatchObject({ count: 0, results: [] });
    expect((await call('GET', '/v1/webhooks')).json().results.map((e: { id: string }) => e.id)).toContain(endpoint.id);
    const log = (await call('GET', `/v1/webhooks/${endpoint.id}/deliveries`)).json();
    expect(log).toMatchObject({ count: 1, results: [{ id: 'dlv_acme1', status: 'failed', attempts: [] }] });
    expect((await call('POST', '/v1/deliveries/dlv_acme1/replay')).statusCode).toBe(202);
    expect((await call('DELETE', `/v1/webhooks/${endpoint.id}`)).statusCode).toBe(204);
    expect((await call('GET', `/v1/webhooks/${endpoint.id}`)).statusCode).toBe(404);
  });
});

describe('api - documentation', () => {
  it('serves the OpenAPI document at /docs/json with every route, and a page at /docs, without a key', async () => {
    const doc = (await app.inject({ method: 'GET', url: '/docs/json' })).json();
    expect(doc.openapi).toMatch(/^3\./);
    const routes = Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(([path, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`));
    for (const route of [
      'GET /api/integration/health', 'GET /metrics', 'GET /api/integration/vehicles', 'GET /api/integration/vehicle-location', 'POST /api/integration/webhook',
      'GET /v1/devices', 'GET /v1/devices/{id}', 'GET /v1/devices/{id}/positions', 'POST /v1/geofences', 'GET /v1/geofences', 'GET /v1/geofences/{id}',
      'PUT /v1/geofences/{id}', 'DELETE /v1/geofences/{id}', 'POST /v1/geofences/import', 'GET /v1/events', 'POST /v1/webhooks', 'GET /v1/webhooks',
      'GET /v1/webhooks/{id}', 'PUT /v1/webhooks/{id}', 'DELETE /v1/webhooks/{id}', 'GET /v1/webhooks/{id}/deliveries', 'POST /v1/webhooks/{id}/test',
      'POST /v1/deliveries/{id}/replay',
    ]) expect(routes, route).toContain(route);
    expect(doc.paths['/v1/webhooks'].post.requestBody.content['application/json'].schema.required).toEqual(['url', 'events']);
    const page = await app.inject({ method: 'GET', url: '/docs' });
    const html = page.statusCode === 302 ? await app.inject({ method: 'GET', url: page.headers.location as string }) : page;
    expect(html.statusCode).toBe(200);
    expect(html.headers['content-type']).toMatch(/text\/html/);
  });
});

describe('api - failures', () => {
  it('answers 500 internal_error when the database fails, and logs the error behind it', async () => {
    const lines: string[] = [];
    const broken = createPool(world.config.databaseUrl, silentLog);
    await broken.end();
    const failing = buildApp(apiDeps(world, {
      store: apiStore(broken), health: { nats: async () => true, database: async () => false }, log: pino({ level: 'error' }, { write: (line: string) => void lines.push(line) }),
    }));
    const response = await failing.inject({ method: 'GET', url: '/v1/events', headers: { 'x-integration-key': acmeKey } });
    expect(response.statusCode).toBe(500);
    expect(response.json()).toEqual({ error: { code: 'internal_error', message: 'the server failed to answer; the error is logged' } });
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0] as string)).toMatchObject({ msg: 'API request failed', method: 'GET', url: '/v1/events', err: { message: expect.stringMatching(/pool/i) } });
    await failing.close();
  });
});

everyAnswerDocumented(() => answers, 40);
