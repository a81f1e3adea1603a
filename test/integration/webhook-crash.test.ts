import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSecret } from '../../src/webhooks/signature.js';
import { spawnFencewire } from './process.js';
import { setup, waitFor, type TestEnv } from '../support/setup.js';
import { startReceiver, type Answer, type Receiver } from './webhook-receiver.js';

let world: TestEnv;
let receiver: Receiver;
const secret = generateSecret();
/** Until the restart, the first attempt of event n answers by n % 3: 200, 500, or never. */
let restarted = false;

beforeAll(async () => {
  world = await setup({
    // Room for every request at once, and a timeout long enough to kill the worker while the
    // unanswered ones are in progress (their leases then end 2 s x 5 + 5 s after they were taken).
    WEBHOOK_ALLOW_PRIVATE: 'true', WEBHOOK_TIMEOUT_MS: '2000', WEBHOOK_ENDPOINT_CONCURRENCY: '32',
    WEBHOOK_RETRY_BASE_MS: '3000', WEBHOOK_RETRY_FACTOR: '1', WEBHOOK_POLL_MS: '50',
  });
  receiver = await startReceiver((request): Answer => {
    if (restarted) return { status: 200 };
    const n = Number(request.headers['x-event-id']?.split('_').at(-1));
    return [{ status: 200 }, { status: 500 }, 'hang' as const][n % 3] as Answer;
  }, () => secret);
});

afterAll(async () => {
  await receiver?.close();
  await world?.dispose();
});

const EVENTS = 30;

async function statuses(): Promise<Record<string, number>> {
  const { rows } = await world.db.query<{ status: string; n: string }>(
    'SELECT status || \':\' || attempts AS status, count(*) AS n FROM webhook_deliveries GROUP BY 1',
  );
  return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
}

describe('webhooks - crash safety', () => {
  it('after SIGKILL mid-retry, a restart delivers every event, and none the receiver acknowledged twice', async () => {
    await world.db.query(
      `INSERT INTO webhook_endpoints (id, tenant_id, url, events, secret) VALUES ('whk_crash', 'acme', $1, '{*}', $2)`,
      [receiver.url('/crash'), secret],
    );
    const first = await spawnFencewire(world.env, ['serve', '--role', 'webhooks']);
    const ids: string[] = [];
    for (let n = 0; n < EVENTS; n++) {
      const id = `evt_crash_${n}`;
      ids.push(id);
      const body = JSON.stringify({ id, type: 'geofence.enter', tenant_id: 'acme', device_id: `veh-${n}`, occurred_at: new Date().toISOString(), data: {} });
      await world.js.publish(`${world.topology.eventsPrefix}acme.geofence.enter`, new TextEncoder().encode(body), { msgID: id });
    }
    // The moment to kill: every 200 recorded, every 500 recorded with its retry pending, and
    // every third request still unanswered, in progress.
    await waitFor('first attempts made and recorded', async () => {
      const s = await statuses();
      return s['succeeded:1'] === EVENTS / 3 && s['pending:1'] === EVENTS / 3 && receiver.requests.length === EVENTS;
    });
    first.child.kill('SIGKILL');
    expect(await first.exited).toBe('SIGKILL');
    restarted = true;

    const second = await spawnFencewire(world.env, ['serve', '--role', 'webhooks']);
    try {
      await waitFor('every delivery succeeded', async () => {
        const s = await statuses();
        return (s['succeeded:1'] ?? 0) + (s['succeeded:2'] ?? 0) === EVENTS;
      }, 30_000);
    } finally {
      second.child.kill('SIGTERM');
      expect(await second.exited).toBe(0);
    }
    const acknowledged = new Map<string, number>();
    for (const request of receiver.requests) {
      const id = request.headers['x-event-id'] as string;
      if (request.status !== null && request.status < 300) acknowledged.set(id, (acknowledged.get(id) ?? 0) + 1);
    }
    expect([...acknowledged.keys()].sort()).toEqual([...ids].sort());
    expect([...acknowledged.values()].every((count) => count === 1)).toBe(true);
    // The ones that had answered 200 were never sent again; the others were, once each.
    const sent = (n: number) => receiver.requests.filter((r) => r.headers['x-event-id'] === `evt_crash_${n}`).length;
    expect(ids.map((_, n) => sent(n))).toEqual(ids.map((_, n) => (n % 3 === 0 ? 1 : 2)));
    expect(receiver.badSignatures).toEqual([]);
  });
});
