import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/metrics.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { deliveryStore } from '../../src/store/delivery-store.js';
import { AttemptRecorder } from '../../src/webhooks/attempt-recorder.js';
import { setup, silentLog, waitFor, type TestEnv } from '../support/setup.js';
import { startReceiver, type Receiver } from './webhook-receiver.js';

const SETTINGS = { WEBHOOK_ALLOW_PRIVATE: 'true', WEBHOOK_TIMEOUT_MS: '1000', WEBHOOK_POLL_MS: '50' };
const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

let world: TestEnv;
let receiver: Receiver;

beforeAll(async () => {
  world = await setup(SETTINGS);
  // One receiver answers with a NUL byte and a lone surrogate's bytes in its body, the other plainly.
  receiver = await startReceiver((request) => ({ status: 200, body: request.path === '/nul' ? 'ok\u0000\ud800done' : 'ok' }), () => SECRET);
  for (const [id, tenant, path] of [['whk_nul', 'nul', '/nul'], ['whk_fine', 'fine', '/fine']] as const) {
    await world.db.query("INSERT INTO webhook_endpoints (id, tenant_id, url, events, secret) VALUES ($1, $2, $3, '{*}', $4)", [id, tenant, receiver.url(path), SECRET]);
  }
});

afterAll(async () => {
  await receiver?.close();
  await world?.dispose();
});

async function publishEvent(tenant: string, n: number): Promise<void> {
  const event = { id: `evt_${tenant}_${n}`, type: 'device.offline', tenant_id: tenant, device_id: 'veh-1', occurred_at: new Date().toISOString(), data: {} };
  await world.js.publish(`${world.topology.eventsPrefix}${tenant}.device.offline`, new TextEncoder().encode(JSON.stringify(event)), { msgID: event.id });
}

async function deliveries(): Promise<{ endpoint_id: string; status: string; attempts: number; response_body: string | null }[]> {
  const { rows } = await world.db.query(`SELECT d.endpoint_id, d.status, d.attempts, a.response_body FROM webhook_deliveries d
    LEFT JOIN webhook_attempts a ON a.delivery_id = d.id ORDER BY d.endpoint_id, d.id`);
  return rows;
}

describe('webhook poison - an answer PostgreSQL cannot store stops nobody', () => {
  it('a receiver answering a NUL byte has every attempt recorded (the body with U+FFFD), another tenant\'s too, and nothing is sent twice across a restart', async () => {
    let server: RunningServer = await startServer(world.config, silentLog);
    try {
      for (let n = 0; n < 3; n++) {
        await publishEvent('nul', n);
        await publishEvent('fine', n);
      }
      await waitFor('six deliveries succeeded', async () => (await deliveries()).filter((d) => d.status === 'succeeded').length === 6, 15_000);
      await server.stop();
      server = await startServer(world.config, silentLog);
      await new Promise((resolve) => setTimeout(resolve, 1500));
    } finally {
      await server.stop();
    }
    const rows = await deliveries();
    expect(rows).toHaveLength(6);
    for (const row of rows) expect(row).toMatchObject({ status: 'succeeded', attempts: 1 });
    expect(rows.filter((r) => r.endpoint_id === 'whk_nul').map((r) => r.response_body)).toEqual(Array(3).fill('ok\ufffd\ufffddone'));
    expect(receiver.at('/nul')).toHaveLength(3);
    expect(receiver.at('/fine')).toHaveLength(3);
  });

  it('an envelope published on one tenant\'s subject naming another is dead-lettered, never delivered to the other', async () => {
    const server = await startServer(world.config, silentLog);
    try {
      const forged = { id: 'evt_forged', type: 'device.offline', tenant_id: 'fine', device_id: 'veh-1', occurred_at: new Date().toISOString(), data: {} };
      await world.js.publish(`${world.topology.eventsPrefix}nul.device.offline`, new TextEncoder().encode(JSON.stringify(forged)), { msgID: forged.id });
      await publishEvent('fine', 10);
      await waitFor('the genuine event delivered', async () => receiver.at('/fine').length === 4, 10_000);
      const letter = await world.jsm.streams.getMessage(world.topology.dlqStream, { last_by_subj: `${world.topology.eventsDlqPrefix}nul` });
      expect(letter?.header.get('Fencewire-Error-Code')).toBe('envelope_mismatch');
      expect(letter?.string()).toBe(JSON.stringify(forged));
    } finally {
      await server.stop();
    }
    expect(receiver.at('/fine').map((r) => JSON.parse(r.body).id)).not.toContain('evt_forged');
    expect(receiver.at('/nul').map((r) => JSON.parse(r.body).id)).not.toContain('evt_forged');
  });

  it('an event whose deliveries PostgreSQL refuses (a NUL in its id) is counted and skipped; the events beside it are delivered', async () => {
    const server = await startServer(world.config, silentLog);
    try {
      const before = receiver.at('/fine').length;
      const poisoned = { id: 'evt_\u0000x', type: 'device.offline', tenant_id: 'fine', device_id: 'veh-1', occurred_at: new Date().toISOString(), data: {} };
      await world.js.publish(`${world.topology.eventsPrefix}fine.device.offline`, new TextEncoder().encode(JSON.stringify(poisoned)), { msgID: poisoned.id });
      await publishEvent('fine', 20);
      await waitFor('the event beside it delivered', async () => receiver.at('/fine').length === before + 1, 10_000);
      const metrics = await server.metrics.registry.getSingleMetricAsString('fencewire_events_refused_total');
      expect(metrics).toMatch(/code="unstorable"} 1/);
    } finally {
      await server.stop();
    }
  });

  it('the recorder writes an attempt whose texts PostgreSQL refuses without them, and the rest of its batch as it is', async () => {
    const ids = (await world.db.query<{ id: string }>("SELECT id FROM webhook_deliveries WHERE endpoint_id = 'whk_fine' ORDER BY id")).rows.map((r) => r.id);
    const metrics = createMetrics();
    const recorder = new AttemptRecorder(deliveryStore(world.db), silentLog, metrics);
    const outcome = { startedAt: new Date(), statusCode: 500, latencyMs: 3, error: null, retryAfter: undefined };
    const verdict = { status: 'failed' } as const;
    await Promise.all([
      recorder.record({ deliveryId: ids[0] as string, attempt: 2, outcome: { ...outcome, responseBody: 'bad\u0000' }, verdict }),
      recorder.record({ deliveryId: ids[1] as string, attempt: 2, outcome: { ...outcome, responseBody: 'fine' }, verdict }),
    ]);
    const { rows } = await world.db.query('SELECT delivery_id, error, response_body FROM webhook_attempts WHERE attempt = 2 ORDER BY delivery_id');
    expect(rows).toEqual([
      { delivery_id: ids[0], error: expect.stringMatching(/^not stored: PostgreSQL refused the texts of this attempt \(invalid byte sequence/), response_body: null },
      { delivery_id: ids[1], error: null, response_body: 'fine' },
    ]);
    expect(await metrics.registry.getSingleMetricAsString('fencewire_unstorable_total')).toMatch(/kind="attempt"} 1/);
  });
});
