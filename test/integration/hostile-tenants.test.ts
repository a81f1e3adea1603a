import { createApiKey, keyStore } from '../../src/store/key-store.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../src/server.js';
import { setup, silentLog, waitFor, type TestEnv } from '../support/setup.js';
import { startReceiver, type Receiver } from './webhook-receiver.js';

/**
 * A tenant that stored what the API now refuses (endpoints written while private addresses were
 * allowed, or before a header rule existed) cannot stop the process or reach inside the network:
 * the worker here runs with WEBHOOK_ALLOW_PRIVATE=false, as in production.
 */
const SETTINGS = { WEBHOOK_ALLOW_PRIVATE: 'false', WEBHOOK_TIMEOUT_MS: '500', WEBHOOK_MAX_ATTEMPTS: '2', WEBHOOK_RETRY_BASE_MS: '100', WEBHOOK_POLL_MS: '50' };

let world: TestEnv;
let server: RunningServer;
let receiver: Receiver;
let key: string;

beforeAll(async () => {
  world = await setup(SETTINGS);
  server = await startServer(world.config, silentLog);
  key = (await createApiKey(keyStore(world.db), 'mallory')).key;
  receiver = await startReceiver(() => ({ status: 200, body: 'internal secret' }), () => 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw');
});

afterAll(async () => {
  await server?.stop();
  await receiver?.close();
  await world?.dispose();
});

async function api(method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`http://127.0.0.1:${server.httpPort}${path}`, {
    method,
    headers: { 'x-integration-key': key, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, json: text === '' ? {} : JSON.parse(text) };
}

/** An endpoint written straight into the table, as one saved under older rules would be. */
async function storedEndpoint(id: string, url: string, headers: Record<string, string> = {}): Promise<string> {
  await world.db.query(
    `INSERT INTO webhook_endpoints (id, tenant_id, url, events, secret, headers) VALUES ($1, 'mallory', $2, '{*}', 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', $3)`,
    [id, url, JSON.stringify(headers)],
  );
  return id;
}

async function attemptErrors(endpointId: string): Promise<string[]> {
  const rows = await world.db.query<{ error: string }>(
    'SELECT a.error FROM webhook_attempts a JOIN webhook_deliveries d ON d.id = a.delivery_id WHERE d.endpoint_id = $1 ORDER BY a.started_at', [endpointId],
  );
  return rows.rows.map((r) => r.error);
}

describe('hostile tenants - webhook endpoints cannot stop the process or reach private addresses', () => {
  it('a stored Trailer header fails its attempts with the reason, and the process lives on', async () => {
    const id = await storedEndpoint('whk_trailer', receiver.url('/trailer'), { Trailer: 'X-Foo' });
    expect((await api('POST', `/v1/webhooks/${id}/test`)).status).toBe(202);
    // Also through fan-out, as a device.offline event to a `*` endpoint.
    const event = { id: `evt_offline_${world.id}`, type: 'device.offline', tenant_id: 'mallory', device_id: 'veh-1', occurred_at: new Date().toISOString(), data: {} };
    await world.js.publish(`${world.topology.eventsPrefix}mallory.device.offline`, new TextEncoder().encode(JSON.stringify(event)), { msgID: event.id });
    await waitFor('both deliveries failed', async () => {
      const rows = await world.db.query("SELECT 1 FROM webhook_deliveries WHERE endpoint_id = $1 AND status = 'failed'", [id]);
      return rows.rowCount === 2;
    });
    const errors = await attemptErrors(id);
    expect(errors).toHaveLength(4);
    for (const error of errors) expect(error).toMatch(/^request not sent: header "Trailer" is set by fencewire or changes how the request is framed/);
    expect(receiver.requests).toEqual([]);
    expect((await api('GET', '/api/integration/health')).status).toBe(200);
    const metrics = await (await fetch(`http://127.0.0.1:${server.httpPort}/metrics`)).text();
    expect(metrics).not.toMatch(/^fencewire_unhandled_errors_total\{/m);
  });

  it.each([
    ['a stored loopback IP literal', 'whk_literal', (port: number) => `http://127.0.0.1:${port}/literal`, /^request not sent: 127\.0\.0\.1 is a private, loopback/],
    ['a stored hostname resolving to loopback', 'whk_name', (port: number) => `http://localhost:${port}/name`, /^localhost resolves to (127\.0\.0\.1|::1), a private, loopback/],
  ])('%s is refused at connect on every attempt; nothing reaches it and no answer is logged', async (_what, id, url, error) => {
    await storedEndpoint(id, url(receiver.port));
    expect((await api('POST', `/v1/webhooks/${id}/test`)).status).toBe(202);
    await waitFor('the delivery failed', async () => (await attemptErrors(id)).length === 2);
    for (const message of await attemptErrors(id)) expect(message).toMatch(error);
    const bodies = await world.db.query('SELECT 1 FROM webhook_attempts a JOIN webhook_deliveries d ON d.id = a.delivery_id WHERE d.endpoint_id = $1 AND a.response_body IS NOT NULL', [id]);
    expect(bodies.rowCount).toBe(0);
    expect(receiver.requests).toEqual([]);
  });

  it('the API refuses framing headers at save, and re-checks a stored URL on a PUT that does not change it', async () => {
    const created = await api('POST', '/v1/webhooks', { url: 'https://hooks.example.net/x', events: ['webhook.test'], headers: { Trailer: 'X-Foo' } });
    expect(created).toMatchObject({ status: 400, json: { error: { code: 'invalid_request', message: expect.stringMatching(/header "Trailer"/) } } });
    await storedEndpoint('whk_stale', `http://127.0.0.1:${receiver.port}/stale`);
    const changed = await api('PUT', '/v1/webhooks/whk_stale', { enabled: true });
    expect(changed).toMatchObject({ status: 400, json: { error: { message: expect.stringMatching(/127\.0\.0\.1 is a private/) } } });
    const withPublicUrl = await api('PUT', '/v1/webhooks/whk_stale', { url: 'https://hooks.example.net/y' });
    expect(withPublicUrl.status).toBe(200);
  });

  it('the metric series of a deleted endpoint are removed', async () => {
    const id = await storedEndpoint('whk_gone', 'http://127.0.0.1:9/gone');
    expect((await api('POST', `/v1/webhooks/${id}/test`)).status).toBe(202);
    const metrics = async () => (await fetch(`http://127.0.0.1:${server.httpPort}/metrics`)).text();
    await waitFor('its attempt counted', async () => (await metrics()).includes('fencewire_webhook_attempts_total{endpoint="whk_gone"}'));
    expect((await api('DELETE', `/v1/webhooks/${id}`)).status).toBe(204);
    await waitFor('its series gone', async () => !(await metrics()).includes('endpoint="whk_gone"'));
    expect(await metrics()).toMatch(/fencewire_webhook_attempts_total\{endpoint="whk_trailer"\}/);
  });
});
