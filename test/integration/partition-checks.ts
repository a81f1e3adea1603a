import { expect } from 'vitest';
import { expectedEventIds, type FleetReport, sorted, storedEventIds, streamEventIds } from './ignition-fleet.js';
import { PrivateNats } from '../support/private-servers.js';
import { spawnFencewire, type FencewireProcess } from './process.js';
import { countPositions, countUnpublished, setup, waitFor, type TestEnv } from '../support/setup.js';

// What the partition tests check after processors were killed, paused, stopped and restarted.

/** The ingest processors a test starts on its world, each remembered so that none outlives it. */
export class Processors {
  readonly all: FencewireProcess[] = [];

  constructor(private readonly world: () => TestEnv) {}

  /** `fencewire serve --role ingest` on the world, with `env` added. */
  async start(env: Record<string, string> = {}): Promise<FencewireProcess> {
    const proc = await spawnFencewire({ ...this.world().env, ...env }, ['serve', '--role', 'ingest']);
    this.all.push(proc);
    return proc;
  }

  killAll(): void {
    for (const proc of this.all) proc.child.kill('SIGKILL');
  }
}

export interface PartitionedWorld {
  readonly world: TestEnv;
  dispose(): Promise<void>;
}

/** A private nats-server with the project's configuration (8 partitions) and a world on it. */
export async function partitionedWorld(leaseMs = 2000): Promise<PartitionedWorld> {
  const nats = await PrivateNats.start();
  const world = await setup({ ...nats.env, FENCEWIRE_NAMESPACE: '', INGEST_LEASE_MS: String(leaseMs), INGEST_CHECKPOINT_MS: '1000' });
  return {
    world,
    async dispose() {
      await world.dispose();
      await nats.dispose();
    },
  };
}

/** The processor's name in its leases, from its log. */
export function ownerOf(proc: FencewireProcess): string {
  const match = /"owner":"([^"]+)"/.exec(proc.output());
  if (match?.[1] === undefined) throw new Error(`no owner in the processor's log:\n${proc.output()}`);
  return match[1];
}

export async function owners(world: TestEnv): Promise<Map<string, number[]>> {
  const { rows } = await world.db.query<{ owner: string; partition: number }>('SELECT owner, partition FROM ingest_partitions ORDER BY partition');
  const byOwner = new Map<string, number[]>();
  for (const row of rows) byOwner.set(row.owner, [...(byOwner.get(row.owner) ?? []), row.partition]);
  return byOwner;
}

/** A processor's answer to GET /api/integration/ready: the status code and its state. */
export async function readiness(proc: FencewireProcess): Promise<{ code: number; state: string }> {
  const port = Number(/"httpPort":(\d+)/.exec(proc.output())?.[1]);
  const response = await fetch(`http://127.0.0.1:${port}/api/integration/ready`);
  return { code: response.status, state: ((await response.json()) as { state: string }).state };
}

/** The processors' warnings and errors, for a failure's message: what a stalled partition said. */
export function complaints(procs: readonly FencewireProcess[]): string {
  return procs.map((proc, i) => {
    const lines = proc.output().split('\n').filter((line) => /"level":(40|50|60)/.test(line) || /partition (taken|handed over|lost)/.test(line));
    return `processor ${i} (exit ${proc.child.exitCode ?? 'running'}):\n  ${lines.slice(-25).join('\n  ')}`;
  }).join('\n');
}

/** Every fix stored once, and each device's events exactly the pure core's, in the table and on EVENTS. */
export async function expectExactlyOneProcessorsResult(world: TestEnv, tenant: string, reports: readonly FleetReport[], procs: readonly FencewireProcess[]): Promise<void> {
  try {
    // A stalled partition is retaken by the watchdog after 15 s idle: allow for one.
    await waitFor('every fix stored', async () => (await countPositions(world.db, `tenant_id = '${tenant}'`)) === reports.length, 60_000);
  } catch (err) {
    const stored = await countPositions(world.db, `tenant_id = '${tenant}'`);
    throw new Error(`${(err as Error).message}: ${stored} of ${reports.length} stored\n${complaints(procs)}`, { cause: err });
  }
  await waitFor('every event published', async () => (await countUnpublished(world.db)) === 0, 30_000);
  const check = await world.db.query(`SELECT count(*) AS n, count(DISTINCT (device_id, ts)) AS d FROM positions WHERE tenant_id = $1`, [tenant]);
  expect(Number(check.rows[0].n)).toBe(reports.length);
  expect(Number(check.rows[0].d)).toBe(reports.length);
  const expected = sorted(expectedEventIds(tenant, reports));
  // Ignition toggles every 10 fixes: devices x (fixes / 10 - 1) ignition events, and a trip per ignition off.
  expect(Object.values(expected).flat().length).toBeGreaterThan(0);
  expect(sorted(await storedEventIds(world, tenant))).toEqual(expected);
  expect(sorted(await streamEventIds(world, tenant))).toEqual(expected);
}

