import { pack } from 'msgpackr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnFencewire } from './process.js';
import { countPositions, setup, waitFor, type TestEnv } from '../support/setup.js';

let world: TestEnv;

beforeAll(async () => {
  world = await setup();
});

afterAll(async () => {
  await world?.dispose();
});

function childPids(output: string): number[] {
  return [...output.matchAll(/"pid":(\d+)[^\n]*"msg":"ingest joining"/g)].map((m) => Number(m[1]));
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('serve --workers - ingest in several processes', () => {
  it('runs two ingest workers that share the work, shows their metrics on the parent\'s /metrics, restarts one that dies, and stops them with it', async () => {
    const proc = await spawnFencewire({ ...world.env, INGEST_WORKERS: '2' });
    await waitFor('both workers joined', () => childPids(proc.output()).length === 2);
    const port = Number(/"httpPort":(\d+)/.exec(proc.output())?.[1]);
    for (let i = 0; i < 50; i++) await world.publish('workers', `veh-${i % 5}`, pack({ ts: Date.now() - 60_000 + i, lat: 48, lon: 11 }));
    await waitFor('the fixes stored', async () => (await countPositions(world.db, `tenant_id = 'workers'`)) === 50);
    const metrics = async () => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    // Without the mapping there is one partition: one worker holds it, the other stands by.
    await waitFor('the workers\' figures on /metrics', async () => /^fencewire_fixes_written_total 50$/m.test(await metrics()));
    expect(await metrics()).toMatch(/^fencewire_partitions_owned 1$/m);
    const pids = childPids(proc.output());
    // A worker killed is started again, and counted.
    process.kill(pids[0] as number, 'SIGKILL');
    await waitFor('the worker restarted', () => childPids(proc.output()).length === 3, 15_000);
    await waitFor('the restart counted', async () => /^fencewire_ingest_worker_restarts_total\{worker="\d"\} 1$/m.test(await metrics()));
    expect(proc.output()).toMatch(/"failuresInARow":1,"restartInMs":1000,"msg":"ingest worker died; starting another"/);
    const running = childPids(proc.output()).slice(1);
    expect(running.every(alive)).toBe(true);
    proc.child.kill('SIGTERM');
    expect(await proc.exited, proc.output()).toBe(0);
    await waitFor('the workers gone', () => !running.some(alive));
  });

  it('workers do not outlive a parent killed with SIGKILL', async () => {
    const proc = await spawnFencewire({ ...world.env, INGEST_WORKERS: '2' });
    await waitFor('both workers joined', () => childPids(proc.output()).length === 2);
    const pids = childPids(proc.output());
    proc.child.kill('SIGKILL');
    await proc.exited;
    await waitFor('the orphaned workers gone', () => !pids.some(alive), 15_000);
  });
});
