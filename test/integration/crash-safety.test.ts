import { pack } from 'msgpackr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countPositions, ingestConsumerInfo, setup, waitFor, type TestEnv } from '../support/setup.js';
import { spawnFencewire } from './process.js';

let world: TestEnv;

beforeAll(async () => {
  world = await setup({ INGEST_ACK_WAIT_MS: '2000' });
});

afterAll(async () => {
  await world?.dispose();
});

/** Publishes `count` fixes for `devices` devices, a small array every few milliseconds. */
async function publishSteadily(tenant: string, devices: number, count: number, base: number): Promise<void> {
  for (let sent = 0; sent < count; ) {
    const device = `veh-${sent % devices}`;
    const reports = Array.from({ length: Math.min(5, count - sent) }, (_, i) => ({ ts: base + sent + i, lat: 48 + i / 1e4, lon: 11 }));
    await world.publish(tenant, device, pack(reports));
    sent += reports.length;
    if (sent % 100 === 0) await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('crash safety - every fix published is stored exactly once', () => {
  it('survives SIGKILL while fixes stream in, and a restart catches up', async () => {
    const total = 6000;
    const base = Date.now() - 3_600_000;
    const first = await spawnFencewire(world.env);
    const publishing = publishSteadily('crash', 20, total, base);
    await waitFor('some fixes stored', async () => (await countPositions(world.db)) > 500);
    first.child.kill('SIGKILL');
    expect(await first.exited).toBe('SIGKILL');
    const storedAtCrash = await countPositions(world.db);
    expect(storedAtCrash).toBeLessThan(total);

    await publishing;
    const second = await spawnFencewire(world.env);
    await waitFor('every fix stored after the restart', async () => (await countPositions(world.db)) >= total, 45_000);
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);

    const check = await world.db.query<{ n: string; distinct_fixes: string; min_ts: Date; max_ts: Date }>(
      `SELECT count(*) AS n, count(DISTINCT (device_id, ts)) AS distinct_fixes, min(ts) AS min_ts, max(ts) AS max_ts FROM positions`,
    );
    const row = check.rows[0];
    expect(Number(row?.n)).toBe(total);
    expect(Number(row?.distinct_fixes)).toBe(total);
    expect(row?.min_ts.getTime()).toBe(base);
    expect(row?.max_ts.getTime()).toBe(base + total - 1);
  });

  it('on SIGTERM commits and acknowledges the batch in hand and exits 0 within 10 s', async () => {
    const base = Date.now() - 1_800_000;
    const before = (await world.jsm.streams.info(world.topology.telemetryStream)).state.last_seq;
    const proc = await spawnFencewire(world.env);
    let stop = false;
    const publishing = (async () => {
      for (let i = 0; !stop; i++) {
        await world.publish('term', `veh-${i % 20}`, pack(Array.from({ length: 10 }, (_, k) => ({ ts: base + i * 10 + k, lat: 47, lon: 10 }))));
        if (i % 20 === 19) await new Promise((resolve) => setTimeout(resolve, 2));
      }
    })();
    await waitFor('some of the stream stored', async () => (await countPositions(world.db, `tenant_id = 'term'`)) > 500);

    const signalled = Date.now();
    proc.child.kill('SIGTERM');
    expect(await proc.exited).toBe(0);
    expect(Date.now() - signalled).toBeLessThan(10_000);
    stop = true;
    await publishing;
    expect(proc.output()).toMatch(/"committed":true/);
    // Everything committed was acknowledged, and exactly that is stored. (Messages the server
    // pushed after the pull stopped stay unacknowledged: the next owner starts after the
    // committed sequence, whatever the consumer says.)
    const info = await ingestConsumerInfo(world);
    const committed = Number((await world.db.query('SELECT committed_seq FROM ingest_partitions')).rows[0].committed_seq);
    expect(info.ack_floor.stream_seq).toBe(committed);
    expect(await countPositions(world.db, `tenant_id = 'term'`)).toBe(10 * (committed - before));
    const last = (await world.jsm.streams.info(world.topology.telemetryStream)).state.last_seq;
    const next = await spawnFencewire(world.env);
    await waitFor('the rest stored by the next processor', async () => (await countPositions(world.db, `tenant_id = 'term'`)) === 10 * (last - before));
    next.child.kill('SIGTERM');
    expect(await next.exited).toBe(0);
  });
});
