import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { AttemptOutcome, AttemptRecord, Delivery, DeliveryStore, Endpoint } from '../../../src/core/delivery.js';
import { createMetrics } from '../../../src/metrics.js';
import { AttemptRecorder } from '../../../src/webhooks/attempt-recorder.js';
import { DeliveryDispatcher } from '../../../src/webhooks/delivery-dispatcher.js';
import type { WebhookRequest } from '../../../src/webhooks/http-sender.js';

const log = pino({ level: 'silent' });
const retry = { maxAttempts: 3, baseDelayMs: 1000, factor: 2, maxDelayMs: 60_000 };
const SECRET = `whsec_${Buffer.from('a secret of thirty-two bytes!!!!').toString('base64')}`;

function endpoint(id: string, headers: Record<string, string> = {}): Endpoint {
  return { id, tenantId: 'acme', url: `https://${id}.example/hook`, events: ['*'], secret: SECRET, headers, throttleS: null };
}

function delivery(id: string, to: Endpoint, attempts = 0): Delivery {
  return { id, endpoint: to, eventId: `evt_${id}`, eventType: 'ignition.on', body: `{"id":"evt_${id}"}`, attempts };
}

function answer(statusCode: number | null): AttemptOutcome {
  return { startedAt: new Date(), statusCode, latencyMs: 1, error: statusCode === null ? 'timeout' : null, responseBody: null, retryAfter: undefined };
}

/** The store as the recorder sees it: the attempts written, in memory. */
class MemoryAttempts implements Pick<DeliveryStore, 'recordAttempts'> {
  readonly records: AttemptRecord[] = [];
  async recordAttempts(records: readonly AttemptRecord[]): Promise<void> {
    this.records.push(...records);
  }
}

/** A sender that answers each endpoint as told, and can hold an endpoint's requests unanswered. */
class ScriptedSender {
  readonly sent: WebhookRequest[] = [];
  private readonly held: (() => void)[] = [];
  constructor(private readonly statusFor: (url: string) => number | 'hang') {}
  async send(request: WebhookRequest): Promise<AttemptOutcome> {
    this.sent.push(request);
    const status = this.statusFor(request.url);
    if (status === 'hang') await new Promise<void>((resolve) => this.held.push(resolve));
    return answer(status === 'hang' ? null : status);
  }
  releaseHeld(): void {
    for (const release of this.held.splice(0)) release();
  }
}

function dispatcher(sender: ScriptedSender, attempts: MemoryAttempts, concurrency = 2, maxHeld = 8) {
  return new DeliveryDispatcher(sender, new AttemptRecorder(attempts, log, createMetrics()), { retry, concurrency, maxHeld }, createMetrics(), log);
}

async function settled(attempts: MemoryAttempts, count: number): Promise<void> {
  for (let i = 0; i < 200 && attempts.records.length < count; i++) await new Promise((resolve) => setTimeout(resolve, 5));
  expect(attempts.records).toHaveLength(count);
}

describe('the delivery dispatcher, against in-memory ports', () => {
  it('records a verdict for every attempt: 2xx succeeds, an error is retried, the last attempt fails', async () => {
    const attempts = new MemoryAttempts();
    const sender = new ScriptedSender((url) => (url.startsWith('https://ok.') ? 204 : 500));
    const d = dispatcher(sender, attempts);
    d.enqueue(delivery('a', endpoint('ok')));
    d.enqueue(delivery('b', endpoint('down')));
    d.enqueue(delivery('c', endpoint('down'), 2));
    await settled(attempts, 3);
    const byId = new Map(attempts.records.map((r) => [r.deliveryId, r]));
    expect(byId.get('a')).toMatchObject({ attempt: 1, verdict: { status: 'succeeded' } });
    expect(byId.get('b')).toMatchObject({ attempt: 1, verdict: { status: 'pending' } });
    expect((byId.get('b')?.verdict as { nextAttemptAt: Date }).nextAttemptAt.getTime()).toBeGreaterThan(Date.now());
    expect(byId.get('c')).toMatchObject({ attempt: 3, verdict: { status: 'failed' } });
  });

  it('signs each request and keeps an endpoint\'s own headers beside the signature, never in its place', async () => {
    const attempts = new MemoryAttempts();
    const sender = new ScriptedSender(() => 200);
    dispatcher(sender, attempts).enqueue(delivery('a', endpoint('ok', { 'x-team': 'ops' })));
    await settled(attempts, 1);
    const headers = sender.sent[0]?.headers ?? {};
    expect(headers['x-team']).toBe('ops');
    expect(headers['webhook-signature']).toMatch(/^v1,/);
    expect(headers['webhook-id']).toBe('evt_a');
  });

  it('refuses, without sending, a delivery whose stored headers a newer rule forbids, and records why', async () => {
    const attempts = new MemoryAttempts();
    const sender = new ScriptedSender(() => 200);
    dispatcher(sender, attempts).enqueue(delivery('a', endpoint('old', { host: 'elsewhere.example' })));
    await settled(attempts, 1);
    expect(sender.sent).toEqual([]);
    expect(attempts.records[0]?.outcome.error).toMatch(/^request not sent: header "host"/);
  });

  it('lets a hanging endpoint fill only its own slots: the others are sent and recorded meanwhile', async () => {
    const attempts = new MemoryAttempts();
    const sender = new ScriptedSender((url) => (url.startsWith('https://hang.') ? 'hang' : 200));
    const d = dispatcher(sender, attempts, 2, 4);
    const slow = endpoint('hang');
    for (const id of ['s1', 's2', 's3', 's4']) expect(d.enqueue(delivery(id, slow))).toBe(true);
    expect(d.enqueue(delivery('s5', slow))).toBe(false);
    expect(d.room('hang')).toBe(0);
    for (const id of ['f1', 'f2', 'f3']) d.enqueue(delivery(id, endpoint('fast')));
    await settled(attempts, 3);
    expect(attempts.records.map((r) => r.deliveryId).sort()).toEqual(['f1', 'f2', 'f3']);
    // Two of the slow endpoint's requests are out (its concurrency), two wait.
    expect(sender.sent.filter((r) => r.url.startsWith('https://hang.'))).toHaveLength(2);
    const stopping = d.stop();
    sender.releaseHeld();
    expect((await stopping).sort()).toEqual(['s3', 's4']);
    expect(attempts.records.map((r) => r.deliveryId).sort()).toEqual(['f1', 'f2', 'f3', 's1', 's2']);
  });
});
