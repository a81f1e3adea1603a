import { createApiKey, keyStore } from '../../src/store/key-store.js';
import type { FastifyInstance } from 'fastify';
import { connect as connectTcp, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GeometryThread } from '../../src/geofences/geometry-thread.js';
import { buildApp } from '../../src/http/app.js';
import { apiDeps, setup, type TestEnv } from '../support/setup.js';
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
      inboundMaxBytes: 32_768, eventMaxBytes: 8192, inboundBytesPerMinute: 4000,
    },
  }));
  answers = new DocumentedAnswers(app);
  key = (await createApiKey(keyStore(world.db), 'mallory')).key;
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
    ['an offset past bigint', 'GET', '/v1/events?offset=9223372036854775807', undefined, 400, /offset must be at most 100000, got 9223372036854775807; narrow the list with its filters/],
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
    // A replay of a replay counts against the first delivery's quota too.
    const replays = await world.db.query<{ id: string }>('SELECT id FROM webhook_deliveries WHERE replay_of = $1', [deliveryId]);
    const ofReplay = await call('POST', `/v1/deliveries/${replays.rows[0]?.id}/replay`);
    expect(ofReplay.statusCode).toBe(429);
  });
});

describe('hostile input - inbound events are bounded before anything is kept', () => {
  let bulkyKey: string;
  beforeAll(async () => {
    bulkyKey = (await createApiKey(keyStore(world.db), 'bulky')).key;
  });
  const post = (payload: object) => app.inject({ method: 'POST', url: '/api/integration/webhook', headers: { 'x-integration-key': bulkyKey }, payload });
  const kept = async () => {
    const { rows } = await world.db.query("SELECT (SELECT count(*) FROM inbound_events WHERE tenant_id = 'bulky')::int AS inbound, (SELECT count(*) FROM events WHERE tenant_id = 'bulky')::int AS events");
    return rows[0];
  };

  it('refuses a body over INBOUND_MAX_BYTES, an event that escapes past EVENT_MAX_BYTES, and occurred_at outside years 0001-9999, keeping nothing', async () => {
    const huge = await post({ type: 'dvir.report', note: 'x'.repeat(1024 * 1024) });
    expect(huge.statusCode).toBe(413);
    expect(huge.json().error).toEqual({ code: 'payload_too_large', message: 'the body is larger than this route takes: at most 32768 bytes' });
    // 3.6 KB of emoji: under the body limit, 10.8 KB once each is written as two \uXXXX escapes.
    const wide = await post({ type: 'dvir.report', note: '\u{1F600}'.repeat(900) });
    expect(wide.statusCode).toBe(413);
    expect(wide.json().error.message).toMatch(/dvir.submitted event this body becomes would be 109\d\d bytes once escaped .* the limit is 8192 \(EVENT_MAX_BYTES\)/);
    const ancient = await post({ type: 'dvir.report', id: 'r-0', occurred_at: '-100000-01-01T00:00:00Z' });
    expect(ancient.statusCode).toBe(400);
    expect(ancient.json().error.message).toMatch(/occurred_at "-100000-01-01T00:00:00Z" lies outside years 0001-9999/);
    expect(await kept()).toEqual({ inbound: 0, events: 0 });
  });

  it('makes a resend with the same id and no occurred_at the same event, leaves the event to the stream, and counts bytes per minute beside the count', async () => {
    const first = await post({ type: 'dvir.report', id: 'r-1', vehicle_id: 'veh-1' });
    await new Promise((resolve) => setTimeout(resolve, 20));
    const again = await post({ type: 'dvir.report', id: 'r-1', vehicle_id: 'veh-1' });
    expect([first.statusCode, again.statusCode]).toEqual([202, 202]);
    expect(again.json().event_id).toBe(first.json().event_id);
    // The API writes no event itself: dvir.submitted goes down the telemetry stream, for the
    // partition's owner to commit once (test/integration/fleet-events.test.ts).
    expect(await kept()).toEqual({ inbound: 2, events: 0 });
    const heavy = await post({ type: 'note', text: 'y'.repeat(3950) });
    expect(heavy.statusCode).toBe(429);
    expect(heavy.json().error.message).toMatch(/bytes of inbound events in the last minute and this one has \d+, past its limit \(TENANT_INBOUND_BYTES_PER_MINUTE is 4000\)/);
    expect(Number(heavy.headers['retry-after'])).toBeGreaterThanOrEqual(1);
  });
});

describe('hostile input - a request whose body never comes', () => {
  it('is answered 408 and closed within HTTP_REQUEST_TIMEOUT_MS (Node would hold it 300 s)', async () => {
    const slowApp = buildApp(apiDeps(world, { requestTimeoutMs: 1000 }));
    await slowApp.listen({ port: 0, host: '127.0.0.1' });
    try {
      const { port } = slowApp.server.address() as AddressInfo;
      const socket = connectTcp({ port, host: '127.0.0.1' });
      let answer = '';
      socket.on('data', (chunk: Buffer) => (answer += chunk.toString()));
      const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
      const started = Date.now();
      socket.write(`POST /v1/geofences HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Integration-Key: ${key}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"type"`);
      await closed;
      expect(answer).toMatch(/^HTTP\/1.1 408/);
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      await slowApp.close();
    }
  });
});

everyAnswerDocumented(() => answers, 25);
