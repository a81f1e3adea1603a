/**
 * Webhook delivery benchmark (issue 4): events published on the EVENTS stream, fanned out by the
 * built `fencewire serve --role webhooks` to 100 endpoints on a fast local receiver. Prints
 * deliveries/s and the delay from event publish to receipt (p50/p99), next to a baseline
 * measured in the same run: the same signed-size requests posted straight from this process to
 * the same receiver over keep-alive connections, no NATS, no database.
 *
 * Runs: (1) burst: events published as fast as possible, for throughput; (2) steady: a rate of
 * 2 000 deliveries/s, for the delays; (3) steady again with one of the 100 endpoints dead (never
 * answers): the other 99 endpoints' p99 must not move.
 *
 *   npm run build && npx tsx bench/webhook.bench.ts [--endpoints 100] [--events 300]
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { generateSecret } from '../src/webhooks/signature.js';
import { setup, type TestEnv } from '../test/support/setup.js';
import { formatRate, machineLine } from './machine.js';
import { spawnBuilt } from './spawn-built.js';

const { values } = parseArgs({ options: { endpoints: { type: 'string' }, events: { type: 'string' } } });
const ENDPOINTS = Number(values.endpoints ?? 100);
const BURST_EVENTS = Number(values.events ?? 300);
const STEADY_DELIVERIES_PER_S = 2000;
const STEADY_SECONDS = 10;
const TENANT = 'bench';

/** Receipt times by `<path> <event id>`, and the publish time each event carries. */
const receipts = new Map<string, number>();
const published = new Map<string, number>();
let dead = false;

function startReceiver(): Promise<http.Server> {
  const server = http.createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
    req.resume();
    req.on('end', () => {
      if (dead && req.url === '/dead') return; // never answers
      receipts.set(`${req.url} ${req.headers['x-event-id']}`, performance.now());
      res.writeHead(204).end();
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

let eventNumber = 0;
async function publishEvents(world: TestEnv, count: number, perSecond: number | null): Promise<string[]> {
  const ids: string[] = [];
  const started = performance.now();
  for (let i = 0; i < count; i++) {
    const id = `evt_bench${++eventNumber}`;
    const body = JSON.stringify({ id, type: 'geofence.enter', tenant_id: TENANT, device_id: `veh-${i % 50}`, occurred_at: new Date().toISOString(), data: { geofence_id: 'depot', lat: 52.5, lon: 13.4, speed: 12 } });
    if (perSecond !== null) {
      const due = started + (i * 1000) / perSecond;
      if (due > performance.now()) await sleep(due - performance.now());
    }
    published.set(id, performance.now());
    await world.js.publish(`${world.topology.eventsPrefix}${TENANT}.geofence.enter`, new TextEncoder().encode(body), { msgID: id });
    ids.push(id);
  }
  return ids;
}

async function waitForReceipts(paths: string[], ids: string[], timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  const keys = paths.flatMap((p) => ids.map((id) => `${p} ${id}`));
  while (keys.some((k) => !receipts.has(k))) {
    if (performance.now() > deadline) throw new Error(`only ${keys.filter((k) => receipts.has(k)).length} of ${keys.length} deliveries arrived`);
    await sleep(20);
  }
}

function delays(paths: string[], ids: string[]): number[] {
  return paths.flatMap((p) => ids.map((id) => (receipts.get(`${p} ${id}`) as number) - (published.get(id) as number))).sort((a, b) => a - b);
}

/** The baseline: the same number of requests of the same size, posted straight to the receiver, 8 at a time per endpoint. */
async function bareHttp(port: number, paths: string[], perEndpoint: number): Promise<number> {
  const agent = new http.Agent({ keepAlive: true });
  const body = Buffer.alloc(420, 'x');
  const post = (path: string, n: number) => new Promise<void>((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': body.length, 'x-event-id': `bare${n}` } }, (res) => {
      res.resume();
      res.on('end', () => resolve());
    });
    req.on('error', reject);
    req.end(body);
  });
  const started = performance.now();
  await Promise.all(paths.map(async (path) => {
    let next = 0;
    await Promise.all(Array.from({ length: 8 }, async () => {
      while (next < perEndpoint) await post(path, next++);
    }));
  }));
  agent.destroy();
  return (paths.length * perEndpoint) / ((performance.now() - started) / 1000);
}

async function main(): Promise<void> {
  console.log(machineLine());
  const receiver = await startReceiver();
  const port = (receiver.address() as AddressInfo).port;
  const world = await setup({ WEBHOOK_ALLOW_PRIVATE: 'true', WEBHOOK_TIMEOUT_MS: '5000', WEBHOOK_RETRY_BASE_MS: '60000' });
  const paths = Array.from({ length: ENDPOINTS }, (_, i) => `/hook-${i}`);
  for (const path of paths) {
    await world.db.query("INSERT INTO webhook_endpoints (id, tenant_id, url, events, secret) VALUES ($1, $2, $3, '{*}', $4)",
      [`whk${path.replace('/', '_')}`, TENANT, `http://127.0.0.1:${port}${path}`, generateSecret()]);
  }
  const worker = await spawnBuilt(world.env, 'webhooks');
  try {
    // Warm-up: connections opened, statements prepared.
    await waitForReceipts(paths, await publishEvents(world, 5, null), 60_000);

    const baseline = await bareHttp(port, paths, BURST_EVENTS);
    const burstStart = performance.now();
    const burst = await publishEvents(world, BURST_EVENTS, null);
    await waitForReceipts(paths, burst, 300_000);
    const burstEnd = Math.max(...paths.flatMap((p) => burst.map((id) => receipts.get(`${p} ${id}`) as number)));
    const burstRate = (paths.length * burst.length) / ((burstEnd - burstStart) / 1000);
    console.log(`burst: ${burst.length} events x ${paths.length} endpoints = ${paths.length * burst.length} deliveries`);
    console.log(`  fencewire: ${formatRate(burstRate)} deliveries   baseline bare HTTP: ${formatRate(baseline)}   ratio ${(burstRate / baseline).toFixed(2)}   (target >= 2,000/s)`);

    const eventsPerSecond = STEADY_DELIVERIES_PER_S / paths.length;
    const steady = await publishEvents(world, eventsPerSecond * STEADY_SECONDS, eventsPerSecond);
    await waitForReceipts(paths, steady, 120_000);
    const all = delays(paths, steady);
    const others = delays(paths.slice(1), steady);
    console.log(`steady: ${STEADY_DELIVERIES_PER_S} deliveries/s for ${STEADY_SECONDS} s: publish-to-receipt p50 ${percentile(all, 50).toFixed(1)} ms, p99 ${percentile(all, 99).toFixed(1)} ms (target p99 < 250 ms)`);

    await world.db.query("UPDATE webhook_endpoints SET url = $1 WHERE id = 'whk_hook-0'", [`http://127.0.0.1:${port}/dead`]);
    dead = true;
    const withDead = await publishEvents(world, eventsPerSecond * STEADY_SECONDS, eventsPerSecond);
    await waitForReceipts(paths.slice(1), withDead, 120_000);
    const othersWithDead = delays(paths.slice(1), withDead);
    console.log(`steady with /hook-0 dead (never answers): the other ${paths.length - 1} endpoints p50 ${percentile(othersWithDead, 50).toFixed(1)} ms, p99 ${percentile(othersWithDead, 99).toFixed(1)} ms`
      + ` vs ${percentile(others, 50).toFixed(1)} / ${percentile(others, 99).toFixed(1)} ms with all alive`);
  } finally {
    await worker.stop();
    receiver.closeAllConnections();
    receiver.close();
    await world.dispose();
  }
}

await main();
