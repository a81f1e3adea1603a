import { createApiKey, keyStore } from '../../src/store/key-store.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../src/server.js';
import { jsonBytes, setup, silentLog, waitFor, type TestEnv } from '../support/setup.js';
import { startReceiver, type Answer, type Receiver, type ReceivedRequest } from './webhook-receiver.js';

/** Fast retries so that a delivery's whole life fits in a test: 300 ms, 600 ms, 1.2 s (±20%). */
const SETTINGS = {
  WEBHOOK_ALLOW_PRIVATE: 'true', WEBHOOK_TIMEOUT_MS: '500', WEBHOOK_MAX_ATTEMPTS: '4',
  WEBHOOK_RETRY_BASE_MS: '300', WEBHOOK_RETRY_FACTOR: '2', WEBHOOK_POLL_MS: '50', WEBHOOK_ENDPOINT_CONCURRENCY: '4',
};

let world: TestEnv;
let server: RunningServer;
let receiver: Receiver;
let key: string;
/** Path -> secret of the endpoint that posts there; path -> how the receiver answers. */
const secrets = new Map<string, string>();
const answers = new Map<string, (request: ReceivedRequest) => Answer>();

beforeAll(async () => {
  world = await setup(SETTINGS);
  server = await startServer(world.config, silentLog);
  key = (await createApiKey(keyStore(world.db), 'acme')).key;
  receiver = await startReceiver((request) => (answers.get(request.path) ?? (() => ({ status: 204 })))(request), (path) => secrets.get(path));
});

afterAll(async () => {
  await server?.stop();
  await receiver?.close();
  await world?.dispose();
});

interface AttemptLog { attempt: number; status_code: number | null; error: string | null; latency_ms: number; response_body: string | null }
interface DeliveryLog { id: string; event_type: string; status: string; attempts: AttemptLog[] }

/** The fields of the answers these tests read when they create something. */
interface Created { id: string; secret: string; delivery_id: string; event_id: string; replay_of: string }

async function api<T = Created>(method: string, path: string, body?: unknown, apiKey = key): Promise<{ status: number; json: T }> {
  const response = await fetch(`http://127.0.0.1:${server.httpPort}${path}`, {
    method,
    headers: { 'x-integration-key': apiKey, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, json: text === '' ? null : JSON.parse(text) };
}

/** Creates an endpoint posting to the receiver at `path`, answering with `answer`. */
async function endpoint(path: string, events: string[], answer?: (request: ReceivedRequest) => Answer, extra: object = {}): Promise<string> {
  if (answer) answers.set(path, answer);
  const created = await api('POST', '/v1/webhooks', { url: receiver.url(path), events, ...extra });
  expect(created.status).toBe(201);
  secrets.set(path, created.json.secret);
  return created.json.id;
}

let eventCounter = 0;
/** Publishes an event envelope on the EVENTS stream as the processor would, and returns its body. */
async function publishEvent(type: string, tenant = 'acme'): Promise<{ id: string; body: string }> {
  const id = `evt_test${String(++eventCounter).padStart(6, '0')}${world.id}`;
  const body = JSON.stringify({ id, type, tenant_id: tenant, device_id: 'veh-1', occurred_at: new Date().toISOString(), data: { lat: 52.5, lon: 13.4 } });
  await world.js.publish(`${world.topology.eventsPrefix}${tenant}.${type}`, new TextEncoder().encode(body), { msgID: id });
  return { id, body };
}

async function deliveries(endpointId: string): Promise<DeliveryLog[]> {
  return (await api<{ results: DeliveryLog[] }>('GET', `/v1/webhooks/${endpointId}/deliveries`)).json.results;
}

describe('webhooks - delivery', () => {
  it('delivers events from the pipeline to matching endpoints only, signed, as the exact envelope bytes', async () => {
    const ignition = await endpoint('/ignition', ['ignition.*'], undefined, { headers: { Authorization: 'Bearer customer-token' } });
    await endpoint('/everything', ['*']);
    const geofence = await endpoint('/geofence', ['geofence.*']);
    const ts = Date.now() - 60_000;
    await world.publish('acme', 'veh-7', jsonBytes([{ ts, lat: 52.5, lon: 13.4, ignition: false }, { ts: ts + 1000, lat: 52.5, lon: 13.4, ignition: true }]));
    await world.publish('acme', 'veh-7', jsonBytes({ ts: ts + 2000, lat: 52.5, lon: 13.4, ignition: false }));
    await waitFor('ignition.on and ignition.off at /ignition', () => receiver.at('/ignition').length >= 2);
    await waitFor('the same two at /everything', () => receiver.at('/everything').filter((r) => r.headers['x-event-type']?.startsWith('ignition.')).length >= 2);

    const got = receiver.at('/ignition');
    expect(got.map((r) => r.headers['x-event-type'])).toEqual(['ignition.on', 'ignition.off']);
    const stored = await world.db.query<{ id: string; type: string }>("SELECT id, type FROM events WHERE device_id = 'veh-7' AND type LIKE 'ignition.%' ORDER BY occurred_at");
    expect(got.map((r) => r.headers['x-event-id'])).toEqual(stored.rows.map((r) => r.id));
    // The body is the EVENTS message payload, byte for byte.
    const onStream = await world.jsm.streams.getMessage(world.topology.eventsStream, { last_by_subj: `${world.topology.eventsPrefix}acme.ignition.off` });
    expect(got[1]?.body).toBe(new TextDecoder().decode(onStream?.data));
    for (const request of got) {
      expect(request.headers).toMatchObject({ 'content-type': 'application/json', 'x-attempt': '1', authorization: 'Bearer customer-token' });
      expect(request.headers['webhook-id']).toBe(request.headers['x-event-id']);
      expect(Math.abs(Number(request.headers['x-timestamp']) - Date.now() / 1000)).toBeLessThan(30);
    }
    expect(receiver.at('/geofence')).toEqual([]);
    expect(await deliveries(geofence)).toEqual([]);
    const log = await deliveries(ignition);
    const summary = log.map((d) => [d.event_type, d.status, d.attempts.length, d.attempts[0]?.status_code]).sort();
    expect(summary).toEqual([['ignition.off', 'succeeded', 1, 204], ['ignition.on', 'succeeded', 1, 204]]);
    expect(receiver.badSignatures).toEqual([]);
  });
});

/** Answers each request by its position at the path: `script[n]`, then the last one again. */
function scripted(path: string, script: Answer[]): (request: ReceivedRequest) => Answer {
  return () => script[Math.min(receiver.at(path).length - 1, script.length - 1)] as Answer;
}

describe('webhooks - retries, the delivery log and replay', () => {
  it('retries a 500 and a 429 with Retry-After, spaced as configured, and logs every attempt', async () => {
    const long = 'x'.repeat(3000);
    const id = await endpoint('/flaky', ['geofence.enter'], scripted('/flaky', [
      { status: 500, body: long }, { status: 429, headers: { 'retry-after': '2' }, body: 'slow down' }, { status: 200, body: 'ok' },
    ]));
    const event = await publishEvent('geofence.enter');
    await waitFor('three attempts', () => receiver.at('/flaky').length >= 3);
    const got = receiver.at('/flaky');
    expect(got.map((r) => r.headers['x-attempt'])).toEqual(['1', '2', '3']);
    expect(new Set(got.map((r) => r.headers['webhook-id']))).toEqual(new Set([event.id]));
    expect(got.every((r) => r.body === event.body)).toBe(true);
    const gaps = [got[1]!.receivedAt - got[0]!.receivedAt, got[2]!.receivedAt - got[1]!.receivedAt];
    expect(gaps[0]).toBeGreaterThanOrEqual(240); // 300 ms back-off, -20% jitter
    expect(gaps[1]).toBeGreaterThanOrEqual(2000); // Retry-After: 2 outweighs the 600 ms back-off

    await waitFor('the delivery recorded as succeeded', async () => (await deliveries(id))[0]?.status === 'succeeded');
    const [delivery] = await deliveries(id);
    expect(delivery!.attempts.map((a) => [a.attempt, a.status_code, a.error])).toEqual([
      [1, 500, 'answered 500'], [2, 429, 'answered 429'], [3, 200, null],
    ]);
    expect(delivery!.attempts[0]!.response_body).toBe(long.slice(0, 1024));
    expect(delivery!.attempts[1]!.response_body).toBe('slow down');
    expect(delivery!.attempts.every((a) => typeof a.latency_ms === 'number' && a.latency_ms >= 0)).toBe(true);
    // Per-endpoint metrics, on the public /metrics.
    const metrics = await (await fetch(`http://127.0.0.1:${server.httpPort}/metrics`)).text();
    expect(metrics).toContain(`fencewire_webhook_attempts_total{endpoint="${id}"} 3`);
    expect(metrics).toContain(`fencewire_webhook_attempt_failures_total{endpoint="${id}"} 2`);
    expect(metrics).toContain(`fencewire_webhook_latency_seconds_count{endpoint="${id}"} 3`);
    expect(metrics).toContain(`fencewire_webhook_queue_depth{endpoint="${id}"} 0`);
    expect(receiver.badSignatures).toEqual([]);
  });

  it('gives up after the last attempt on a receiver that never answers, then a replay delivers it', async () => {
    let hanging = true;
    const id = await endpoint('/silent', ['overspeed.*'], () => (hanging ? 'hang' : { status: 200 }));
    const event = await publishEvent('overspeed.started');
    await waitFor('the delivery failed', async () => (await deliveries(id))[0]?.status === 'failed', 15_000);
    const [failed] = await deliveries(id);
    expect(failed!.attempts.map((a) => [a.attempt, a.status_code, a.error])).toEqual(
      [1, 2, 3, 4].map((n) => [n, null, 'no answer within 500 ms']),
    );
    expect(receiver.at('/silent')).toHaveLength(4);
    expect(await api('GET', `/v1/webhooks/${id}/deliveries?status=failed`)).toMatchObject({ status: 200, json: { count: 1 } });

    hanging = false;
    const replay = await api('POST', `/v1/deliveries/${failed!.id}/replay`);
    expect(replay).toMatchObject({ status: 202, json: { replay_of: failed!.id } });
    await waitFor('the replay succeeded', async () => (await deliveries(id)).some((d) => d.id === replay.json.delivery_id && d.status === 'succeeded'));
    const last = receiver.at('/silent').at(-1);
    expect(last?.headers).toMatchObject({ 'x-attempt': '1', 'webhook-id': event.id });
    expect(last?.body).toBe(event.body);
  });

  it('keeps retrying a receiver that goes away, and delivers when it comes back', async () => {
    const away = await startReceiver(() => ({ status: 200 }), () => undefined);
    const port = away.port;
    await away.close();
    const created = await api('POST', '/v1/webhooks', { url: `http://127.0.0.1:${port}/back`, events: ['trip.completed'] });
    const event = await publishEvent('trip.completed');
    await waitFor('a refused attempt logged', async () => ((await deliveries(created.json.id))[0]?.attempts.length ?? 0) >= 1);
    const back = await startReceiver(() => ({ status: 200 }), () => created.json.secret, port);
    try {
      await waitFor('delivered after the receiver came back', async () => (await deliveries(created.json.id))[0]?.status === 'succeeded', 10_000);
      expect(back.requests.map((r) => r.headers['x-event-id'])).toEqual([event.id]);
      const [delivery] = await deliveries(created.json.id);
      expect(delivery!.attempts[0]).toMatchObject({ status_code: null, error: expect.stringMatching(/ECONNREFUSED/) });
      expect(back.badSignatures).toEqual([]);
    } finally {
      await back.close();
    }
  });

  it('a dead endpoint never delays another endpoint', async () => {
    await endpoint('/dead', ['idle.*'], () => 'hang');
    await endpoint('/alive', ['idle.*']);
    const sent = [];
    for (let i = 0; i < 40; i++) sent.push(await publishEvent('idle.started'));
    await waitFor('all 40 at /alive', () => receiver.at('/alive').length >= 40);
    // /dead holds at most its 4 slots until its first attempts time out (500 ms): /alive was
    // served in full while /dead was still stuck on its first requests.
    expect(receiver.at('/dead').length).toBeLessThanOrEqual(4);
    expect(new Set(receiver.at('/alive').map((r) => r.headers['x-event-id']))).toEqual(new Set(sent.map((e) => e.id)));
  });

  it('an endpoint deleted while its attempt is in progress leaves the worker recording the others', async () => {
    const doomed = await endpoint('/doomed', ['device.*'], () => 'hang');
    const survivor = await endpoint('/survivor', ['device.*']);
    await publishEvent('device.offline');
    await waitFor('the attempt in progress', () => receiver.at('/doomed').length === 1);
    expect((await api('DELETE', `/v1/webhooks/${doomed}`)).status).toBe(204);
    await new Promise((resolve) => setTimeout(resolve, 700)); // the hanging attempt times out (500 ms) and is recorded
    await publishEvent('device.online');
    await waitFor('both events recorded as delivered to the survivor', async () => (await deliveries(survivor)).filter((d) => d.status === 'succeeded').length === 2);
    expect(await world.db.query("SELECT 1 FROM webhook_deliveries WHERE endpoint_id = $1", [doomed])).toMatchObject({ rowCount: 0 });
  });

  it('sends a webhook.test event to the one endpoint asked for', async () => {
    const id = await endpoint('/tested', ['geofence.enter']);
    const before = receiver.requests.length;
    const test = await api('POST', `/v1/webhooks/${id}/test`);
    expect(test.status).toBe(202);
    await waitFor('the test event', () => receiver.at('/tested').length === 1);
    const [request] = receiver.at('/tested');
    expect(request?.headers['x-event-type']).toBe('webhook.test');
    expect(JSON.parse(request?.body ?? '')).toMatchObject({ id: test.json.event_id, type: 'webhook.test', tenant_id: 'acme', data: { message: expect.any(String) } });
    await new Promise((resolve) => setTimeout(resolve, 300));
    // Other endpoints' retries go on meanwhile; none of them got the test event.
    expect(receiver.requests.slice(before).filter((r) => r.headers['x-event-type'] === 'webhook.test').map((r) => r.path)).toEqual(['/tested']);
    expect(receiver.badSignatures).toEqual([]);
  });
});

describe('webhooks - throttle', () => {
  /** An event of veh-1 at `occurredAt` about `geofence`, published on EVENTS as the processor would. */
  async function geofenceEvent(occurredAt: number, geofence: string): Promise<string> {
    const id = `evt_thr${String(++eventCounter).padStart(6, '0')}${world.id}`;
    const body = JSON.stringify({ id, type: 'geofence.enter', tenant_id: 'acme', device_id: 'veh-1', occurred_at: new Date(occurredAt).toISOString(), data: { geofence_id: geofence } });
    await world.js.publish(`${world.topology.eventsPrefix}acme.geofence.enter`, new TextEncoder().encode(body), { msgID: id });
    return id;
  }

  it('delivers at most one event per device, type and geofence within the throttle, and logs the rest as throttled', async () => {
    const throttledId = await endpoint('/throttled', ['geofence.enter'], undefined, { throttle: { seconds: 60 } });
    await endpoint('/unthrottled', ['geofence.enter']);
    expect((await api<{ throttle: unknown }>('GET', `/v1/webhooks/${throttledId}`)).json.throttle).toEqual({ seconds: 60 });
    const t = Date.now() - 3600_000;
    const ids = [await geofenceEvent(t, 'yard'), await geofenceEvent(t + 10_000, 'yard'), await geofenceEvent(t + 5_000, 'gate'), await geofenceEvent(t + 70_000, 'yard')];
    await waitFor('every event at /unthrottled', () => receiver.at('/unthrottled').length >= 4);
    await waitFor('three at /throttled, and the fourth logged as throttled', async () =>
      receiver.at('/throttled').length >= 3 && (await deliveries(throttledId)).some((d) => d.status === 'throttled'));
    expect(receiver.at('/throttled').map((r) => r.headers['x-event-id']).sort()).toEqual([ids[0], ids[2], ids[3]].sort());
    const log = await deliveries(throttledId);
    expect(log.filter((d) => d.status === 'throttled').map((d) => [d.id.length > 0, d.attempts.length])).toEqual([[true, 0]]);
    const onlyThrottled = await api<{ count: number; results: { event_id: string }[] }>('GET', `/v1/webhooks/${throttledId}/deliveries?status=throttled`);
    expect(onlyThrottled.json.results.map((d) => d.event_id)).toEqual([ids[1]]);
    // Removing the throttle lets the next such event through.
    expect((await api('PUT', `/v1/webhooks/${throttledId}`, { throttle: null })).status).toBe(200);
    expect((await api<{ throttle: unknown }>('GET', `/v1/webhooks/${throttledId}`)).json.throttle).toBeNull();
    const after = await geofenceEvent(t + 75_000, 'yard');
    await waitFor('the event after the throttle went', () => receiver.at('/throttled').some((r) => r.headers['x-event-id'] === after));
    expect((await api('POST', '/v1/webhooks', { url: receiver.url('/x'), events: ['*'], throttle: { seconds: 0 } })).status).toBe(400);
  });
});
