import { pack } from 'msgpackr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { countPositions, ingestConsumerInfo, setup, silentLog, waitFor, type TestEnv } from '../support/setup.js';
import { TcpProxy } from './tcp-proxy.js';

let world: TestEnv;
let proxy: TcpProxy;
let server: RunningServer;

beforeAll(async () => {
  world = await setup();
  const direct = new URL(world.config.databaseUrl);
  proxy = await TcpProxy.start(direct.hostname, Number(direct.port || 5432));
  const viaProxy = new URL(world.config.databaseUrl);
  viaProxy.port = String(proxy.port);
  server = await startServer(loadConfig({ ...world.env, DATABASE_URL: viaProxy.toString() }), silentLog);
});

afterAll(async () => {
  proxy?.restore();
  await server?.stop();
  await proxy?.close();
  await world?.dispose();
});

async function health(): Promise<{ status: number; body: { checks: { database: string } } }> {
  const response = await fetch(`http://127.0.0.1:${server.httpPort}/api/integration/health`);
  return { status: response.status, body: (await response.json()) as { checks: { database: string } } };
}

describe('database outage - nothing is lost and ingest recovers without a restart', () => {
  it('holds fixes while the database is unreachable and writes them all once it is back', async () => {
    const base = Date.now() - 600_000;
    const publishRange = async (from: number, to: number) => {
      for (let i = from; i < to; i++) await world.publish('outage', `veh-${i % 7}`, pack({ ts: base + i, lat: 50, lon: 8 }));
    };
    await publishRange(0, 100);
    await waitFor('fixes before the outage', async () => (await countPositions(world.db)) === 100);

    proxy.cut();
    await publishRange(100, 400);
    await waitFor('health to report the database unreachable', async () => (await health()).status === 503);
    expect((await health()).body.checks.database).toBe('unreachable');
    // Give the retry loop time to fail a few times while the fixes wait, unacknowledged.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(await countPositions(world.db)).toBe(100);
    const held = await ingestConsumerInfo(world);
    expect(held.num_ack_pending + held.num_pending).toBe(300);

    proxy.restore();
    await publishRange(400, 500);
    await waitFor('every fix after the outage', async () => (await countPositions(world.db)) === 500, 30_000);
    expect((await health()).status).toBe(200);
    const metrics = await (await fetch(`http://127.0.0.1:${server.httpPort}/metrics`)).text();
    expect(Number(/^fencewire_write_failures_total (\d+)/m.exec(metrics)?.[1])).toBeGreaterThan(0);
  });
});
