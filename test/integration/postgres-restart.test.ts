import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectedEventIds, ignitionFleet, publishFleet, sorted, storedEventIds, streamEventIds } from './ignition-fleet.js';
import { PrivatePostgres } from '../support/private-servers.js';
import { spawnFencewire, type FencewireProcess } from './process.js';
import { countPositions, countUnpublished, setup, waitFor, type TestEnv } from '../support/setup.js';

let postgres: PrivatePostgres;
let world: TestEnv;
let proc: FencewireProcess | undefined;

beforeAll(async () => {
  postgres = await PrivatePostgres.start();
  world = await setup({ DATABASE_URL: `${postgres.url}/fencewire`, INGEST_LEASE_MS: '2000', INGEST_CHECKPOINT_MS: '1000' });
});

afterAll(async () => {
  proc?.child.kill('SIGKILL');
  await world?.dispose();
  postgres?.dispose();
});

describe('database restarts - the processor holds its input, retries and catches up', () => {
  it('survives five immediate stops of PostgreSQL mid-stream: never exits, every fix stored once, every event on EVENTS once', async () => {
    proc = await spawnFencewire(world.env, ['serve', '--role', 'ingest']);
    const reports = ignitionFleet(100, 40, Date.now() - 3_600_000);
    const publishing = publishFleet(world, 'restart', reports, 250);
    for (let i = 0; i < 5; i++) {
      await new Promise((resolve) => setTimeout(resolve, 1500));
      postgres.stopImmediately();
      await new Promise((resolve) => setTimeout(resolve, 1500));
      await postgres.startServer();
      expect(proc.child.exitCode, proc.output()).toBeNull();
    }
    await publishing;
    await waitFor('every fix stored', async () => (await countPositions(world.db, `tenant_id = 'restart'`)) === reports.length, 60_000);
    await waitFor('every event published', async () => (await countUnpublished(world.db)) === 0, 30_000);
    const check = await world.db.query(`SELECT count(*) AS n, count(DISTINCT (device_id, ts)) AS d FROM positions WHERE tenant_id = 'restart'`);
    expect(Number(check.rows[0].d)).toBe(reports.length);
    expect(Number(check.rows[0].n)).toBe(reports.length);
    const expected = sorted(expectedEventIds('restart', reports));
    expect(sorted(await storedEventIds(world, 'restart'))).toEqual(expected);
    expect(sorted(await streamEventIds(world, 'restart'))).toEqual(expected);
    expect(proc.output()).toMatch(/database write failed; retrying/);
    expect(proc.child.exitCode).toBeNull();
    proc.child.kill('SIGTERM');
    expect(await proc.exited).toBe(0);
  });
});
