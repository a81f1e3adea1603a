/**
 * End-to-end ingest benchmark (issue 2): fixes from many simulated devices are published to
 * JetStream and measured from the first publish to the last commit, next to two baselines run on
 * the same machine in the same run:
 *   - bare JetStream: the same messages published and consumed with an ack each, no other work;
 *   - bare insert: the same rows written with the same batched statement, no NATS at all.
 * Then the processor's peak RSS after 100 000 devices have reported.
 *
 *   npm run build && npx tsx bench/ingest.bench.ts [--fixes N] [--devices N]
 */
import { parseArgs } from 'node:util';
import { pack } from 'msgpackr';
import type { Fix } from '../src/core/fix.js';
import { telemetrySubject } from '../src/bus/topology.js';
import { seededRandom } from '../src/simulate/random.js';
import { advance, createVehicle, report as simulatedReport, type Vehicle } from '../src/simulate/vehicle.js';
import { countPositions, setup, storeBatch, type TestEnv } from '../test/integration/setup.js';
import { importGeofences } from '../src/geofences/geofence-import.js';
import { spawnBuilt } from './spawn-built.js';
import { syntheticFeatures } from './geofence-fixtures.js';
import { formatRate, machineLine, peakRssMiB } from './machine.js';

const { values } = parseArgs({ options: { fixes: { type: 'string' }, devices: { type: 'string' }, only: { type: 'string' } } });
/** `--only fenced` (or plain, backlog, wide) runs one measurement, for a quick look. */
const ONLY = values.only;
const FIXES = Number(values.fixes ?? 200_000);
const DEVICES = Number(values.devices ?? 10_000);
const TENANT = 'bench';
const FLUSH_EVERY = 1000;
const FLEET_AREA = { minLon: 11.45, minLat: 48.05, maxLon: 11.7, maxLat: 48.22 };
const FLEET_CITY = { lat: 48.137, lon: 11.575, radiusM: 8000 };

interface Message {
  readonly device: string;
  readonly payload: Uint8Array;
  readonly fix: Fix;
}

/**
 * The same seeded stream of fixes for every measurement: the simulator's vehicles driving the
 * streets of the fleet's area, each reporting once a second, round-robin over the devices.
 */
function generate(count: number, devices: number, seed: number): Message[] {
  const random = seededRandom(seed);
  const start = Date.now() - 3_600_000;
  const vehicles = Array.from({ length: devices }, (_, i) => createVehicle(`veh-${i}`, FLEET_CITY, random));
  return Array.from({ length: count }, (_, i) => {
    const vehicle = vehicles[i % devices] as Vehicle;
    advance(vehicle, 1, random);
    const report = simulatedReport(vehicle, start + Math.floor(i / devices) * 1000, random);
    const fix: Fix = {
      tenantId: TENANT, deviceId: vehicle.id, ts: report.ts, lat: report.lat, lon: report.lon, speed: report.speed, heading: report.heading,
      altitude: null, accuracy: report.accuracy, satellites: report.satellites, ignition: report.ignition, odometer: report.odometer, attributes: report.attributes,
    };
    return { device: vehicle.id, payload: pack(report), fix };
  });
}

/**
 * Publishes as a gateway at full speed would: core NATS publishes, captured by the stream, with a
 * flush (a round trip) every thousand messages. nats.js's acknowledged `js.publish` tops out
 * near 11 000/s on this machine, far below what ingest can take, so it would measure the
 * publisher instead. The stream's message count then confirms that nothing was dropped.
 */
async function publishAll(world: TestEnv, messages: Message[]): Promise<void> {
  const before = (await world.jsm.streams.info(world.topology.telemetryStream)).state.messages;
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i] as Message;
    world.nc.publish(telemetrySubject(world.topology, TENANT, m.device), m.payload);
    if (i % FLUSH_EVERY === FLUSH_EVERY - 1) await world.nc.flush();
  }
  await world.nc.flush();
  const after = (await world.jsm.streams.info(world.topology.telemetryStream)).state.messages;
  if (after - before !== messages.length) throw new Error(`the stream holds ${after - before} of ${messages.length} messages published`);
}

async function waitForCount(world: TestEnv, count: number): Promise<void> {
  while ((await countPositions(world.db)) < count) await new Promise((resolve) => setTimeout(resolve, 20));
}

/**
 * fencewire as a separate process: first publish to last commit. With `backlog`, everything is
 * published before fencewire starts and the clock runs from its start: the catch-up rate after
 * an outage.
 */
async function endToEnd(messages: Message[], backlog = false, geofences = 0): Promise<{ perSecond: number; rssMiB: number | null }> {
  const world = await setup();
  if (geofences > 0) await loadGeofences(world, geofences);
  if (backlog) await publishAll(world, messages);
  let started = performance.now();
  const proc = await spawnBuilt(world.env);
  try {
    if (!backlog) {
      started = performance.now();
      await publishAll(world, messages);
    }
    await waitForCount(world, messages.length);
    const seconds = (performance.now() - started) / 1000;
    return { perSecond: messages.length / seconds, rssMiB: await peakRssMiB(proc.pid) };
  } finally {
    await proc.stop();
    await world.dispose();
  }
}

/**
 * `count` geofences with real outlines over the fleet's area, and rules that fire: an overspeed
 * limit of 50 km/h, idle and trips at their defaults.
 */
async function loadGeofences(world: TestEnv, count: number): Promise<void> {
  const features = syntheticFeatures(count, FLEET_AREA, 0.004, seededRandom(99));
  const result = await importGeofences(world.db, TENANT, { type: 'FeatureCollection', features }, { limits: world.config.quotas.geofences, geometry: null });
  if (result.errors.length > 0) throw new Error(result.errors[0]);
  await world.db.query(`INSERT INTO tenants (id, rules) VALUES ($1, '{"overspeedLimitKmh": 50}')`, [TENANT]);
}

/** Baseline 1: the same messages through JetStream, consumed and acked, no work. */
async function bareJetStream(messages: Message[]): Promise<number> {
  const world = await setup();
  try {
    const consumer = await world.js.consumers.get(world.topology.telemetryStream, world.topology.ingestConsumer);
    const iterator = await consumer.consume({ max_messages: 1000 });
    let acked = 0;
    const done = (async () => {
      for await (const msg of iterator) {
        msg.ack();
        if (++acked === messages.length) break;
      }
    })();
    const started = performance.now();
    await publishAll(world, messages);
    await done;
    await world.nc.flush();
    return messages.length / ((performance.now() - started) / 1000);
  } finally {
    await world.dispose();
  }
}

/** Baseline 2: the same rows, batch-inserted with the same statement, no NATS. */
async function bareInsert(messages: Message[], batchSize: number): Promise<number> {
  const world = await setup();
  try {
    const fixes = messages.map((m) => m.fix);
    const started = performance.now();
    for (let i = 0; i < fixes.length; i += batchSize) await storeBatch(world.db, { fixes: fixes.slice(i, i + batchSize) });
    return fixes.length / ((performance.now() - started) / 1000);
  } finally {
    await world.dispose();
  }
}

async function main(): Promise<void> {
  console.log(machineLine());
  const messages = generate(FIXES, DEVICES, 42);
  const run = (name: string) => ONLY === undefined || ONLY === name;
  // Warm-up: a small run of each path, so that JIT, connections and page cache are hot.
  const warm = messages.slice(0, 10_000);
  await bareJetStream(warm);
  await bareInsert(warm, 2000);
  await endToEnd(warm);

  if (run('plain')) {
    const jetstreamRate = await bareJetStream(messages);
    const insertRate = await bareInsert(messages, 2000);
    const e2e = await endToEnd(messages);
    const slower = Math.min(jetstreamRate, insertRate);
    console.log(`ingest end to end   ${FIXES} fixes, ${DEVICES} devices: ${formatRate(e2e.perSecond)} (peak RSS ${e2e.rssMiB?.toFixed(0)} MiB)`);
    console.log(`baseline JetStream  consume+ack only:             ${formatRate(jetstreamRate)}`);
    console.log(`baseline insert     unnest batches of 2000:       ${formatRate(insertRate)}`);
    console.log(`ratio               end to end / slower baseline: ${(e2e.perSecond / slower).toFixed(2)} (target >= 0.5); target 40,000/s: ${e2e.perSecond >= 40_000 ? 'met' : 'not met'}`);
  }
  if (run('fenced')) {
    const fenced = await endToEnd(messages, false, 10_000);
    console.log(`with 10 000 geofences and rules on: ${formatRate(fenced.perSecond)} end to end (peak RSS ${fenced.rssMiB?.toFixed(0)} MiB; target 40,000/s)`);
  }
  if (run('backlog')) {
    const backlog = await endToEnd(messages, true);
    console.log(`backlog drain       ${FIXES} fixes already in the stream: ${formatRate(backlog.perSecond)} from process start to last commit`);
  }
  if (run('wide')) {
    const wide = await endToEnd(generate(200_000, 100_000, 7));
    console.log(`100 000 devices     200 000 fixes: ${formatRate(wide.perSecond)}, processor peak RSS ${wide.rssMiB?.toFixed(0)} MiB (target < 300)`);
  }
}

await main();
