import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GeometryThread } from '../../src/geofences/geometry-thread.js';
import { createApiKey } from '../../src/http/api-keys.js';
import { buildApp } from '../../src/http/app.js';
import { apiDeps, setup, type TestEnv } from './setup.js';
import { DocumentedAnswers, everyAnswerDocumented } from './documented-answers.js';

/** Every input the security review answered with a 500, and the per-tenant limits, on a small-quota app. */
let world: TestEnv;
let app: FastifyInstance;
let answers: DocumentedAnswers | undefined;
let geometry: GeometryThread;
let key: string;
const square = { type: 'Polygon', coordinates: [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]] };

beforeAll(async () => {
  world = await setup();
  geometry = new GeometryThread();
  app = buildApp(apiDeps(world, {
    webhookAllowPrivate: true, geometry,
    quotas: {
      geofences: { maxVertices: 50, maxPerTenant: 3, maxTenantVertices: 12 },
      webhookEndpoints: 2, inboundEventsPerMinute: 3, replaysPerDeliveryPerHour: 2,
    },
  }));
  answers = new DocumentedAnswers(app);
  key = (await createApiKey(world.db, 'mallory')).key;
});

afterAll(async () => {
  await app?.close();
  await geometry?.close();
  await world?.dispose();
});

function call(method: 'GET' | 'POST' | 'PUT', url: string, payload?: string | object) {
  const headers: Record<string, string> = { 'x-integration-key': key };
  if (typeof payload === 'string') headers['content-type'] = 'application/json';
  return app.inject({ method, url, headers, ...(payload === undefined ? {} : { payload }) });
}

describe('hostile input - 4xx with the error shape, never a 500', () => {
  const deep = `${'['.repeat(10_000)}${']'.repeat(10_000)}`;
  it.each([
    ['a NUL in a path value', 'GET', '/v1/geofences/a%00b', undefined, 400, /path\.id contains a NUL character/],
    ['a NUL in a query value', 'GET', '/v1/events?type=a%00b', undefined, 400, /query\.type contains a NUL character/],
    ['a lone surrogate in a JSON body', 'POST', '/api/integration/webhook', '{"note":"\\ud800"}', 400, /body\.note contains a lone UTF-16 surrogate/],
    ['a NUL in a JSON body', 'POST', '/api/integration/webhook', '{"note":"a\\u0000b"}', 400, /body\.note contains a NUL character/],
    ['a NUL in a JSON property name', 'POST', '/api/integration/webhook', '{"a\\u0000":1}', 400, /a property name in body contains a NUL/],
    ['an offset past bigint', 'GET', '/v1/events?offset=9223372036854775807', undefined, 400, /offset must be at most 1000000000/],
    ['a year 0 time', 'GET', '/v1/events?from=0000-01-01T00:00:00Z', undefined, 400, /from must be between years 0001 and 9999/],
    ['JSON nested 10 000 deep', 'POST', '/api/integration/webhook', `{"a":${deep}}`, 400, /nested more than 64 levels deep/],
    ['__proto__ in a body', 'POST', '/api/integration/webhook', '{"__proto__":{"x":1}}', 400, /not valid JSON/],
    ['a malformed percent-encoding', 'GET', '/v1/geofences/%E0%A4%A', undefined, 400, /not valid/],
  ] as const)('%s', async (_what, method, url, payload, status, message) => {
    const response = await call(method, url, payload);
    expect(response.statusCode).toBe(status);
    expect(Object.keys(response.json())).toEqual(['error']);
    expect(response.json().error.message).toMatch(message);
  });

  it('a 1 MB import of bad features answers a short error: ten listed, and a count of the rest', async () => {
    const features = Array.from({ length: 200_000 }, () => ({}));
    const response = await call('POST', '/v1/geofences/import', { type: 'FeatureCollection', features });
    expect(response.statusCode).toBe(400);
    expect(response.body.length).toBeLessThan(5000);
    expect(response.json().error.message).toMatch(/and \d+ more violations$/);
  });
});

describe('hostile input - per-tenant limits', () => {
  it('refuses a geofence over the vertex limit, and geofences past the tenant\'s count or total vertices, naming the limit', async () => {
    const ring = Array.from({ length: 60 }, (_, i) => [Math.cos((i / 60) * 2 * Math.PI), Math.sin((i / 60) * 2 * Math.PI)]);
    const big = await call('POST', '/v1/geofences', { type: 'Feature', geometry: { type: 'Polygon', coordinates: [[...ring, ring[0]]] } });
    expect(big.statusCode).toBe(400);
    expect(big.json().error.message).toMatch(/61 positions, more than the limit of 50 per geofence \(GEOFENCE_MAX_VERTICES\)/);
    for (const id of ['a', 'b']) expect((await call('POST', '/v1/geofences', { type: 'Feature', properties: { id }, geometry: square })).statusCode).toBe(201);
    const third = await call('POST', '/v1/geofences', { type: 'Feature', properties: { id: 'c' }, geometry: square });
    expect(third.statusCode).toBe(403);
    expect(third.json().error).toMatchObject({ code: 'quota_exceeded', message: expect.stringMatching(/15 positions in all, more than its limit of 12 \(TENANT_MAX_GEOFENCE_VERTICES\)/) });
    // Replacing one counts the replacement, not both.
    expect((await call('PUT', '/v1/geofences/a', { type: 'Feature', geometry: square })).statusCode).toBe(200);
  });

  it('refuses a third webhook endpoint (403), and answers 429 with Retry-After past the inbound and replay rates', async () => {
    const hook = { url: 'http://127.0.0.1:9/h', events: ['*'] };
    expect((await call('POST', '/v1/webhooks', hook)).statusCode).toBe(201);
    const second = await call('POST', '/v1/webhooks', hook);
    expect(second.statusCode).toBe(201);
    const third = await call('POST', '/v1/webhooks', hook);
    expect(third.statusCode).toBe(403);
    expect(third.json().error.message).toMatch(/TENANT_MAX_WEBHOOKS/);

    for (let i = 0; i < 3; i++) expect((await call('POST', '/api/integration/webhook', { type: 'note', i })).statusCode).toBe(202);
    const fourth = await call('POST', '/api/integration/webhook', { type: 'note', i: 4 });
    expect(fourth.statusCode).toBe(429);
    expect(fourth.json().error.code).toBe('rate_limited');
    expect(Number(fourth.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(Number(fourth.headers['retry-after'])).toBeLessThanOrEqual(60);

    const test = await call('POST', `/v1/webhooks/${second.json().id}/test`);
    const deliveryId = test.json().delivery_id as string;
    for (let i = 0; i < 2; i++) expect((await call('POST', `/v1/deliveries/${deliveryId}/replay`)).statusCode).toBe(202);
    const replay = await call('POST', `/v1/deliveries/${deliveryId}/replay`);
    expect(replay.statusCode).toBe(429);
    expect(replay.json().error.message).toMatch(/REPLAYS_PER_DELIVERY_PER_HOUR/);
    expect(Number(replay.headers['retry-after'])).toBeGreaterThan(3500);
  });
});

everyAnswerDocumented(() => answers, 25);
