import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ignitionFleet, publishFleet } from './ignition-fleet.js';
import { expectExactlyOneProcessorsResult, owners, ownerOf, partitionedWorld, Processors, readiness, type PartitionedWorld } from './partition-checks.js';
import type { FencewireProcess } from './process.js';
import { countPositions, setup, waitFor, type TestEnv } from '../support/setup.js';

const DEVICES = 200;
const FIXES_PER_DEVICE = 40;

describe('partitions - three processors on a NATS server that maps telemetry into 8 partitions', () => {
  let partitioned: PartitionedWorld;
  let world: TestEnv;
  const procs = new Processors(() => world);

  beforeAll(async () => {
    partitioned = await partitionedWorld();
    world = partitioned.world;
  });

  afterAll(async () => {
    procs.killAll();
    await partitioned?.dispose();
  });

  it('share the partitions, and kill -9 of one mid-stream loses and doubles nothing: the events are one processor\'s', async () => {
    const [a, b, c] = [await procs.start(), await procs.start(), await procs.start()];
    await waitFor('all 8 partitions held by the three', async () => {
      const held = await owners(world);
      return held.size === 3 && [...held.values()].flat().length === 8;
    });
    const reports = ignitionFleet(DEVICES, FIXES_PER_DEVICE, Date.now() - 3_600_000);
    const publishing = publishFleet(world, 'kill', reports, 1500);
    await waitFor('a third of the stream stored', async () => (await countPositions(world.db, `tenant_id = 'kill'`)) > reports.length / 3);
    const victim = ownerOf(a as FencewireProcess);
    a?.child.kill('SIGKILL');
    await publishing;
    await expectExactlyOneProcessorsResult(world, 'kill', reports, procs.all);
    const after = await owners(world);
    expect(after.has(victim)).toBe(false);
    expect([...after.keys()].sort()).toEqual([ownerOf(b as FencewireProcess), ownerOf(c as FencewireProcess)].sort());
  }, 150_000);

  it('SIGSTOP one past its lease, then SIGCONT: it commits nothing for the partitions it lost, and no event is wrong', async () => {
    const [, b, c] = procs.all as [FencewireProcess, FencewireProcess, FencewireProcess];
    const d = await procs.start();
    await waitFor('the newcomer holds a share', async () => ((await owners(world)).get(ownerOf(d))?.length ?? 0) >= 2, 30_000);
    const reports = ignitionFleet(DEVICES, FIXES_PER_DEVICE, Date.now() - 3_000_000);
    const publishing = publishFleet(world, 'pause', reports, 1500);
    await waitFor('a third of the stream stored', async () => (await countPositions(world.db, `tenant_id = 'pause'`)) > reports.length / 3);
    const paused = ownerOf(b);
    const itsPartitions = (await owners(world)).get(paused) ?? [];
    expect(itsPartitions.length).toBeGreaterThan(0);
    b.child.kill('SIGSTOP');
    await waitFor('its partitions taken by the others', async () => !(await owners(world)).has(paused), 30_000);
    b.child.kill('SIGCONT');
    await publishing;
    await expectExactlyOneProcessorsResult(world, 'pause', reports, procs.all);
    expect(b.output()).toMatch(/partition lost; dropping it uncommitted/);
    expect(b.child.exitCode).toBeNull();
    void c;
  }, 150_000);
});

describe('partitions - a processor whose rebalancing rounds hang (injected) strands no partition', () => {
  let partitioned: PartitionedWorld;
  let world: TestEnv;
  const procs = new Processors(() => world);

  beforeAll(async () => {
    partitioned = await partitionedWorld();
    world = partitioned.world;
  });

  afterAll(async () => {
    procs.killAll();
    await partitioned?.dispose();
  });

  it('the others take every partition, and all of them after one hands its share over on SIGTERM: every fix stored once, the events one processor\'s', async () => {
    // Every round of `hung` hangs (as one once did, listing the lease bucket) while its renewal
    // round goes on. Counted as alive, it would hold the others to a share of 8 / 3 and leave two
    // partitions without an owner; it is not counted, since only a finished round beats its heart.
    const hung = await procs.start({ FENCEWIRE_TEST_HANG_ROUNDS_AFTER: '0' });
    const [b, c] = [await procs.start(), await procs.start()];
    await waitFor('all 8 partitions held by the two others', async () => {
      const held = await owners(world);
      return [...held.values()].flat().length === 8 && !held.has(ownerOf(hung));
    }, 30_000);
    expect(hung.output()).toMatch(/did not finish in time/);
    // Alive, but not ready: its lease rounds do not run. The others are, and say what they own.
    expect(await readiness(hung)).toEqual({ code: 503, state: 'lease rounds not running' });
    expect(await readiness(b)).toEqual({ code: 200, state: expect.stringMatching(/^owns [1-8] partitions?$/) });
    const reports = ignitionFleet(DEVICES, FIXES_PER_DEVICE, Date.now() - 3_600_000);
    const publishing = publishFleet(world, 'hang', reports, 1500);
    await waitFor('a third of the stream stored', async () => (await countPositions(world.db, `tenant_id = 'hang'`)) > reports.length / 3);
    b.child.kill('SIGTERM');
    expect(await b.exited).toBe(0);
    await publishing;
    await expectExactlyOneProcessorsResult(world, 'hang', reports, procs.all);
    const after = await owners(world);
    expect([...after.keys()]).toEqual([ownerOf(c)]);
    expect(after.get(ownerOf(c))?.sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  }, 150_000);
});

describe('partitions - without the mapping (one partition), a second processor is a standby', () => {
  let world: TestEnv;
  const procs = new Processors(() => world);

  beforeAll(async () => {
    world = await setup({ INGEST_LEASE_MS: '2000', INGEST_CHECKPOINT_MS: '1000' });
  });

  afterAll(async () => {
    procs.killAll();
    await world?.dispose();
  });

  it('the standby never processes beside the first, takes over on its kill -9, and the events are still one processor\'s', async () => {
    const first = await procs.start();
    await waitFor('the first holds the partition', async () => (await owners(world)).has(ownerOf(first)));
    const standby = await procs.start();
    const reports = ignitionFleet(DEVICES, FIXES_PER_DEVICE, Date.now() - 3_600_000);
    const publishing = publishFleet(world, 'standby', reports, 1500);
    await waitFor('a third of the stream stored', async () => (await countPositions(world.db, `tenant_id = 'standby'`)) > reports.length / 3);
    expect(standby.output()).not.toMatch(/partition taken/);
    expect(await readiness(standby)).toEqual({ code: 200, state: 'standby' });
    expect(await readiness(first)).toEqual({ code: 200, state: 'owns 1 partition' });
    first.child.kill('SIGKILL');
    await publishing;
    await expectExactlyOneProcessorsResult(world, 'standby', reports, procs.all);
    expect(standby.output()).toMatch(/partition taken/);
    expect([...(await owners(world)).keys()]).toEqual([ownerOf(standby)]);
  }, 150_000);
});
