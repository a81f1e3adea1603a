import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededRandom } from '../../src/simulate/random.js';
import { ignitionFleet, publishFleet } from './ignition-fleet.js';
import { complaints, expectExactlyOneProcessorsResult, partitionedWorld, Processors, type PartitionedWorld } from './partition-checks.js';
import type { FencewireProcess } from './process.js';
import type { TestEnv } from '../support/setup.js';

const LEASE_MS = 2000;
/** CHAOS_SEED replays a run; without it each run draws its own, printed with any failure. */
const SEED = Number(process.env.CHAOS_SEED ?? Math.floor(Math.random() * 2 ** 31));

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let partitioned: PartitionedWorld;
let world: TestEnv;
const procs = new Processors(() => world);

beforeAll(async () => {
  partitioned = await partitionedWorld(LEASE_MS);
  world = partitioned.world;
});

afterAll(async () => {
  procs.killAll();
  await partitioned?.dispose();
});

/** The ownership lines of every process, oldest first: what to read when a seed fails. */
function ownershipLog(): string {
  return procs.all.map((proc, i) => `process ${i}:\n  ${proc.output().split('\n').filter((l) => /partition (taken|handed over|lost)|rebalancing round/.test(l)).join('\n  ')}`).join('\n');
}

describe(`chaos - three processors under load, killed, paused and stopped at random (seed ${SEED})`, () => {
  it('every fix stored once, every device\'s events the pure core\'s, every event on EVENTS once', async () => {
    const random = seededRandom(SEED);
    const slots = [await procs.start(), await procs.start(), await procs.start()];
    const reports = ignitionFleet(200, 80, Date.now() - 3_600_000);
    let publishing = true;
    const published = publishFleet(world, 'chaos', reports, 1200).finally(() => (publishing = false));
    const actions: string[] = [];
    const started = Date.now();
    while (publishing) {
      await sleep(1000 + random() * 2000);
      const slot = Math.floor(random() * slots.length);
      const proc = slots[slot] as FencewireProcess;
      const pick = random();
      const action = pick < 0.35 ? 'SIGKILL' : pick < 0.7 ? 'SIGSTOP' : 'SIGTERM';
      actions.push(`${((Date.now() - started) / 1000).toFixed(1)} s: ${action} slot ${slot}`);
      if (action === 'SIGSTOP') {
        proc.child.kill('SIGSTOP');
        await sleep(LEASE_MS + 500 + random() * 1500);
        proc.child.kill('SIGCONT');
        continue;
      }
      proc.child.kill(action);
      await proc.exited;
      slots[slot] = await procs.start();
    }
    await published;
    try {
      await expectExactlyOneProcessorsResult(world, 'chaos', reports, procs.all);
    } catch (err) {
      throw new Error(`chaos seed ${SEED} failed (CHAOS_SEED=${SEED} replays it)\nactions:\n  ${actions.join('\n  ')}\n${ownershipLog()}\n${complaints(procs.all)}\n${(err as Error).message}`, { cause: err });
    }
    expect(actions.length).toBeGreaterThanOrEqual(3);
  }, 240_000);

  it('a rolling restart under load (each processor SIGTERMed and started again in turn) leaves no partition idle for a lease', async () => {
    for (const proc of procs.all) if (proc.child.exitCode === null) proc.child.kill('SIGKILL');
    const slots = [await procs.start(), await procs.start(), await procs.start()];
    const reports = ignitionFleet(200, 60, Date.now() - 3_000_000);
    let publishing = true;
    const published = publishFleet(world, 'rolling', reports, 1200).finally(() => (publishing = false));
    // How long each partition went without a commit while the fleet was publishing.
    const lastAdvance = new Map<number, { seq: number; at: number }>();
    const longestIdle = new Map<number, number>();
    const sampling = (async () => {
      while (publishing) {
        const { rows } = await world.db.query<{ partition: number; committed_seq: string }>('SELECT partition, committed_seq FROM ingest_partitions WHERE partitions = 8');
        const now = Date.now();
        for (const row of rows) {
          const seq = Number(row.committed_seq);
          const last = lastAdvance.get(row.partition);
          if (last === undefined || seq > last.seq) {
            if (last !== undefined) longestIdle.set(row.partition, Math.max(longestIdle.get(row.partition) ?? 0, now - last.at));
            lastAdvance.set(row.partition, { seq, at: now });
          }
        }
        await sleep(50);
      }
    })();
    await sleep(1500);
    for (let slot = 0; slot < slots.length; slot++) {
      const proc = slots[slot] as FencewireProcess;
      proc.child.kill('SIGTERM');
      expect(await proc.exited).toBe(0);
      slots[slot] = await procs.start();
      await sleep(1000);
    }
    await published;
    await sampling;
    await expectExactlyOneProcessorsResult(world, 'rolling', reports, procs.all);
    expect(lastAdvance.size).toBe(8);
    const idle = Object.fromEntries([...longestIdle.entries()].sort(([a], [b]) => a - b));
    expect(Math.max(...Object.values(idle)), `longest idle per partition (ms): ${JSON.stringify(idle)}\n${ownershipLog()}`).toBeLessThan(LEASE_MS);
  }, 240_000);
});
