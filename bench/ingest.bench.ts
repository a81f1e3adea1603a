/**
 * Ingest benchmarks (issue 9), on a private nats-server with the project's configuration (8
 * partitions) and the machine's PostgreSQL, each figure beside a baseline measured in the same
 * run:
 *   - drain: a backlog of fixes already in the stream, from the processor's start to the last
 *     commit, against a bare JetStream consume+ack of the same messages;
 *   - fenced: the same with 10 000 geofences and overspeed rules;
 *   - latency: steady rates (2 000, 5 000, 10 000/s; --rate), one fix in ten deriving an event,
 *     published by a gateway process awaiting acks, publish -> event on a core subscription,
 *     p50 and p99 and the per-stage histograms (the baseline: publish -> receipt of the fix);
 *   - scale: the drain with 1, 2 and 3 processors;
 *   - wide: peak RSS of a processor that knows 100 000 devices;
 *   - late: the drain with a tenth of the fixes 1-60 s late against the ordered drain, and a
 *     steady fleet with late fixes: publish of a late fix -> its correction on EVENTS.
 *
 *   npm run build && npx tsx bench/ingest.bench.ts [--fixes N] [--devices N] [--only NAME] [--rate R,R] [--seconds S]
 */
import { geofenceStore } from '../src/store/geofence-store.js';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { pack } from 'msgpackr';
import { AckPolicy, DeliverPolicy } from '@nats-io/jetstream';
import { partitionOf } from '../src/core/partition.js';
import { telemetrySubject } from '../src/bus/topology.js';
import { importGeofences } from '../src/geofences/geofence-import.js';
import { seededRandom } from '../src/simulate/random.js';
import { advance, createVehicle, report as simulatedReport, type Vehicle } from '../src/simulate/vehicle.js';
import { PrivateNats } from '../test/support/private-servers.js';
import { countPositions, setup, type TestEnv } from '../test/support/setup.js';
import { syntheticFeatures } from './geofence-fixtures.js';
import { cpuSeconds, cpuSecondsOf, formatRate, machineBusySeconds, machineLine, peakRssMiB } from './machine.js';
import { spawnBuilt } from './spawn-built.js';
import { histogramPercentiles } from './stage-percentiles.js';
import { epochNow, sentLate } from './steady-fleet.js';

const { values } = parseArgs({ options: { fixes: { type: 'string' }, devices: { type: 'string' }, only: { type: 'string' }, rate: { type: 'string' }, seconds: { type: 'string' } } });
const ONLY = values.only;
const FIXES = Number(values.fixes ?? 100_000);
const DEVICES = Number(values.devices ?? 10_000);
/** `--rate 2000,5000`: the steady rates of the latency part. */
const STEADY_RATES = (values.rate ?? '2000,5000,10000').split(',').map(Number);
/** Issue 17's targets for p99 publish -> event, by rate. */
const P99_TARGETS_MS: Record<number, number> = { 2000: 25, 5000: 50, 10000: 100 };
const STEADY_SECONDS = Number(values.seconds ?? 20);
const ROUNDS = 3;
const TENANT = 'bench';
const FLEET_AREA = { minLon: 11.45, minLat: 48.05, maxLon: 11.7, maxLat: 48.22 };
const FLEET_CITY = { lat: 48.137, lon: 11.575, radiusM: 8000 };

interface Message {
  readonly device: string;
  readonly payload: Uint8Array;
}

/** The simulator's vehicles on the streets of the fleet's area, one report a second each, round-robin. */
function generate(count: number, devices: number, seed: number): Message[] {
  const random = seededRandom(seed);
  const start = Date.now() - 3_600_000;
  const vehicles = Array.from({ length: devices }, (_, i) => createVehicle(`veh-${i}`, FLEET_CITY, random));
  return Array.from({ length: count }, (_, i) => {
    const vehicle = vehicles[i % devices] as Vehicle;
    advance(vehicle, 1, random);
    return { device: vehicle.id, payload: pack(simulatedReport(vehicle, start + Math.floor(i / devices) * 1000, random)) };
  });
}

/**
 * Publishes as a gateway at full speed would: core publishes captured by the stream, a flush
 * every thousand; the stream's count confirms none was dropped.
 */
async function publishAll(world: TestEnv, messages: Message[]): Promise<void> {
  const before = (await world.jsm.streams.info(world.topology.telemetryStream)).state.messages;
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i] as Message;
    world.nc.publish(telemetrySubject(world.topology, TENANT, m.device), m.payload);
    if (i % 1000 === 999) await world.nc.flush();
  }
  await world.nc.flush();
  const after = (await world.jsm.streams.info(world.topology.telemetryStream)).state.messages;
  if (after - before !== messages.length) throw new Error(`the stream holds ${after - before} of ${messages.length} messages published`);
}

async function world(nats: PrivateNats): Promise<TestEnv> {
  // 10 000 synthetic outlines hold about 3 million positions: past the default tenant quota.
  return setup({ ...nats.env, FENCEWIRE_NAMESPACE: '', INGEST_LEASE_MS: '3000', TENANT_MAX_GEOFENCE_VERTICES: '10000000' });
}

/** Baseline: the backlog consumed by one durable pull consumer, each message acked, no work. */
async function bareConsumeAck(nats: PrivateNats, messages: Message[]): Promise<number> {
  const w = await world(nats);
  try {
    await publishAll(w, messages);
    await w.jsm.consumers.add(w.topology.telemetryStream, { durable_name: 'bare', ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.All, max_ack_pending: 20_000 });
    const consumer = await w.js.consumers.get(w.topology.telemetryStream, 'bare');
    const started = performance.now();
    const iterator = await consumer.consume({ max_messages: 1000 });
    let acked = 0;
    for await (const msg of iterator) {
      msg.ack();
      if (++acked === messages.length) break;
    }
    await w.nc.flush();
    return messages.length / ((performance.now() - started) / 1000);
  } finally {
    await w.dispose();
  }
}

/** The backlog drained by `processors` fencewire processes: throughput from the first commit to the last, and the start-up before it. */
interface DrainOptions {
  readonly processors?: number;
  /** Ingest workers per processor (`serve --workers`). */
  readonly workers?: number;
  readonly prepare?: (w: TestEnv) => Promise<void>;
}

async function drain(nats: PrivateNats, messages: Message[], options: DrainOptions = {}): Promise<{ perSecond: number; rssMiB: number[]; events: number; netEvents: number; cpu: string }> {
  const { processors = 1, workers = 1, prepare } = options;
  const w = await world(nats);
  try {
    await prepare?.(w);
    const firstSeq = (await w.jsm.streams.info(w.topology.telemetryStream)).state.last_seq + 1;
    await publishAll(w, messages);
    const last = lastSeqByPartition(messages, firstSeq);
    const spawned = performance.now();
    const procs = await Promise.all(Array.from({ length: processors }, () => spawnBuilt({ ...w.env, INGEST_WORKERS: String(workers) })));
    // The clock runs from the first commit: start-up (Node, modules, connections, the first
    // claims) is reported on its own, so that one process and several compare on throughput.
    while ((await committedSeqs(w)) === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    const started = performance.now();
    const startupMs = started - spawned;
    const cpuBefore = await Promise.all(procs.map((p) => cpuSeconds(p.pid)));
    const busyBefore = await machineBusySeconds();
    const [pgBefore, natsBefore] = [await cpuSecondsOf('postgres'), await cpuSeconds(nats.pid as number)];
    try {
      // The count of positions is checked once, at the end.
      await allCommitted(w, last);
      const seconds = (performance.now() - started) / 1000;
      const stored = await countPositions(w.db);
      if (stored !== messages.length) throw new Error(`${stored} of ${messages.length} fixes stored`);
      const perSecond = messages.length / seconds;
      const cpuAfter = await Promise.all(procs.map((p) => cpuSeconds(p.pid)));
      // Workers are children of their processor: their CPU is counted when they exit, so with
      // workers this is the machine's figure less postgres and nats-server.
      const processorCpu = cpuAfter.reduce((sum, c, i) => sum + c - (cpuBefore[i] ?? 0), 0);
      const share = (cpuUsed: number) => `${((cpuUsed / seconds) * 100).toFixed(0)}%`;
      const cpu = `start-up ${startupMs.toFixed(0)} ms; CPU in core-%: processors ${share(processorCpu)}, postgres ${share((await cpuSecondsOf('postgres')) - pgBefore)}, nats-server ${share((await cpuSeconds(nats.pid as number)) - natsBefore)}, machine ${share((await machineBusySeconds()) - busyBefore)}`;
      const rssMiB = (await Promise.all(procs.map((p) => peakRssMiB(p.pid)))).map((r) => r ?? NaN);
      const { rows: [counted] } = await w.db.query<{ all: string; net: string }>(
        `SELECT count(*) AS all, count(*) FILTER (WHERE retracted_by IS NULL AND type <> 'event.retracted') AS net FROM events`);
      return { perSecond, rssMiB, events: Number(counted?.all), netEvents: Number(counted?.net), cpu };
    } finally {
      await Promise.all(procs.map((p) => p.stop()));
    }
  } finally {
    await w.dispose();
  }
}

/** The sum of the partitions' committed sequences: above zero once anything is committed. */
async function committedSeqs(w: TestEnv): Promise<number> {
  return Number((await w.db.query('SELECT coalesce(sum(committed_seq), 0) AS s FROM ingest_partitions')).rows[0].s);
}

/**
 * The stream sequence of each partition's last message: the backlog is published in order on
 * one connection into an otherwise quiet stream, so message i has sequence `firstSeq + i`.
 */
function lastSeqByPartition(messages: Message[], firstSeq: number): Map<number, number> {
  const last = new Map<number, number>();
  messages.forEach((m, i) => last.set(partitionOf(TENANT, m.device, 8), firstSeq + i));
  return last;
}

/**
 * Resolves once every partition has committed its last message. Polls the 8 rows of
 * ingest_partitions: a count of positions (a scan) or consumer info (the server counts a
 * filtered consumer's pending messages through the stream) would take a share of the CPU being
 * measured.
 */
async function allCommitted(w: TestEnv, last: Map<number, number>): Promise<void> {
  for (;;) {
    const { rows } = await w.db.query<{ partition: number; committed_seq: string }>('SELECT partition, committed_seq FROM ingest_partitions');
    const committed = new Map(rows.map((r) => [r.partition, Number(r.committed_seq)]));
    if ([...last].every(([partition, seq]) => (committed.get(partition) ?? 0) >= seq)) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * `count` geofences with real outlines about 150 m across, over a region four times the fleet's
 * area each way (the depots and sites of a region, of which the fleet's streets see a share), and
 * an overspeed rule: the case of at most one event per 50 fixes.
 */
async function loadGeofences(w: TestEnv, count: number): Promise<void> {
  const width = FLEET_AREA.maxLon - FLEET_AREA.minLon;
  const height = FLEET_AREA.maxLat - FLEET_AREA.minLat;
  const region = { minLon: FLEET_AREA.minLon - 1.5 * width, maxLon: FLEET_AREA.maxLon + 1.5 * width, minLat: FLEET_AREA.minLat - 1.5 * height, maxLat: FLEET_AREA.maxLat + 1.5 * height };
  const features = syntheticFeatures(count, region, 0.0015, seededRandom(99));
  const result = await importGeofences(geofenceStore(w.db), TENANT, { type: 'FeatureCollection', features }, { limits: w.config.quotas.geofences, geometry: null });
  if (result.errors.length > 0) throw new Error(result.errors[0]);
  await w.db.query(`INSERT INTO tenants (id, rules) VALUES ($1, '{"overspeedLimitKmh": 90}')`, [TENANT]);
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

/** Issue 19's lateness: a tenth of the fixes 1 to 60 s late. */
interface LateArgs {
  readonly share: number;
  readonly maxDelayS: number;
  readonly seed: number;
}
const LATE: LateArgs = { share: 0.1, maxDelayS: 60, seed: 19 };

/** Seconds at the start of a steady run whose fixes are not measured: the processor warms up. */
const WARM_UP_SECONDS = 3;

/**
 * A steady `rate` of fixes from `devices` devices whose ignition flips every tenth fix (devices
 * out of step), so one fix in ten derives an event, published by a gateway in a process of its
 * own that awaits JetStream's acknowledgements (bench/gateway-publisher.ts); the time from each
 * such fix's publish to its event's arrival on a core subscription here, after a warm-up. The
 * baseline: the publishes of device 0's fixes to their own arrival on a core subscription (what
 * NATS and the two processes alone cost).
 */
async function steadyLatency(
  nats: PrivateNats, rate: number, seconds: number, devices: number, late?: LateArgs,
): Promise<{ event: number[]; corrections: number[]; bare: number[]; sent: number; timedOut: number; cpu: string; stages: string }> {
  const w = await world(nats);
  const proc = await spawnBuilt(w.env);
  try {
    const sentAt = new Map<string, number>();
    const sentLateKeys = new Set<string>();
    const event: number[] = [];
    const corrections: number[] = [];
    const bare: number[] = [];
    let probeSentAt: number | null = null;
    const sub = w.nc.subscribe(`${w.topology.eventsPrefix}${TENANT}.ignition.>`, {
      callback: (_err, msg) => {
        const body = msg.json<{ device_id: string; occurred_at: string }>();
        const key = `${body.device_id}@${Date.parse(body.occurred_at)}`;
        const at = sentAt.get(key);
        if (at !== undefined) (sentLateKeys.has(key) ? corrections : event).push(epochNow() - at);
      },
    });
    const probe = w.nc.subscribe(`${w.topology.telemetryPrefix}${TENANT}.veh-0.>`, {
      callback: () => {
        if (probeSentAt !== null) bare.push(epochNow() - probeSentAt);
      },
    });
    await w.nc.flush();
    const gateway = fork(fileURLToPath(new URL('./gateway-publisher.ts', import.meta.url)), [], {
      execArgv: ['--import', 'tsx'],
      env: {
        ...process.env,
        GATEWAY_ARGS: JSON.stringify({
          natsUrl: w.config.natsUrl, user: w.config.natsUser, password: w.config.natsPassword, subjectPrefix: `${w.topology.telemetryPrefix}${TENANT}.`,
          rate, seconds, warmUpSeconds: WARM_UP_SECONDS, devices, base: Date.now() - 3_600_000, late,
        }),
      },
    });
    let cpuAt: { seconds: number; processor: number; pg: number; nats: number; machine: number } | null = null;
    const measuring = setTimeout(() => {
      void Promise.all([cpuSeconds(proc.pid), cpuSecondsOf('postgres'), cpuSeconds(nats.pid as number), machineBusySeconds()]).then(([processor, pg, natsCpu, machine]) => {
        cpuAt = { seconds: performance.now(), processor, pg, nats: natsCpu, machine };
      });
    }, WARM_UP_SECONDS * 1000);
    const finished = await new Promise<{ sent: number; timedOut: number; failed: number }>((resolve, reject) => {
      gateway.on('message', (m: { key?: string | null; probe?: boolean; late?: boolean; at?: number; done?: boolean; sent: number; timedOut: number; failed: number }) => {
        if (m.done) return resolve(m);
        if (m.key) sentAt.set(m.key, m.at as number);
        if (m.key && m.late) sentLateKeys.add(m.key);
        if (m.probe) probeSentAt = m.at as number;
      });
      gateway.on('exit', (code) => code !== 0 && reject(new Error(`the gateway exited with ${code}`)));
    });
    clearTimeout(measuring);
    const at = cpuAt as { seconds: number; processor: number; pg: number; nats: number; machine: number } | null;
    const share = async (before: number, now: Promise<number>) => `${(((await now) - before) / ((performance.now() - (at?.seconds ?? 0)) / 1000) * 100).toFixed(0)}%`;
    const cpu = at === null ? '' : `CPU in core-%: processor ${await share(at.processor, cpuSeconds(proc.pid))}, postgres ${await share(at.pg, cpuSecondsOf('postgres'))}, nats-server ${await share(at.nats, cpuSeconds(nats.pid as number))}, machine ${await share(at.machine, machineBusySeconds())}`;
    await new Promise((resolve) => setTimeout(resolve, 2000));
    sub.unsubscribe();
    probe.unsubscribe();
    if (finished.failed > 0) throw new Error(`${finished.failed} publishes failed`);
    if (event.length + corrections.length < sentAt.size * 0.99) throw new Error(`only ${event.length + corrections.length} of ${sentAt.size} events arrived`);
    // Where the time went, from the processor's own per-stage histograms (warm-up included).
    const perStage = histogramPercentiles(await (await fetch(`http://127.0.0.1:${proc.httpPort}/metrics`)).text(), 'fencewire_stage_seconds', 'stage', [50, 99]);
    const stages = [...perStage].map(([stage, [p50, p99]]) => `${stage} p50 <= ${((p50 ?? 0) * 1000).toFixed(1)} ms, p99 <= ${((p99 ?? 0) * 1000).toFixed(1)} ms`).join('; ');
    const sorted = (values: number[]) => values.sort((a, b) => a - b);
    return { event: sorted(event), corrections: sorted(corrections), bare: sorted(bare), sent: sentAt.size, timedOut: finished.timedOut, cpu, stages };
  } finally {
    await proc.stop();
    await w.dispose();
  }
}

async function main(): Promise<void> {
  console.log(machineLine());
  const nats = await PrivateNats.start(process.env.BENCH_NATS_CONFIG ? { config: process.env.BENCH_NATS_CONFIG } : {});
  const run = (name: string) => ONLY === undefined || ONLY === name;
  try {
    const messages = generate(FIXES, DEVICES, 42);
    // Warm-up: page cache, JIT of the bench process, the database's catalog.
    await drain(nats, messages.slice(0, 10_000));

    if (run('drain')) {
      // Three rounds, each measuring the baseline and both set-ups back to back: this machine's
      // figures move by a third from run to run, so the ratio is taken within a round.
      for (let round = 1; round <= ROUNDS; round++) {
        const bare = await bareConsumeAck(nats, messages);
        const one = await drain(nats, messages);
        const two = await drain(nats, messages, { workers: 2 });
        const verdict = (rate: number) => `${formatRate(rate)}, ratio ${(rate / bare).toFixed(2)} (targets >= 40,000/s: ${rate >= 40_000 ? 'met' : 'not met'}, >= 0.6: ${rate / bare >= 0.6 ? 'met' : 'not met'})`;
        console.log(`drain #${round}     ${FIXES} fixes of ${DEVICES} devices, 8 partitions; bare consume+ack of the same backlog ${formatRate(bare)}`);
        console.log(`             1 worker:  ${verdict(one.perSecond)}; ${one.cpu}; ${one.events} events`);
        console.log(`             --workers 2: ${verdict(two.perSecond)}; ${two.cpu}`);
      }
    }
    if (run('fenced')) {
      const fenced = await drain(nats, messages, { prepare: (w) => loadGeofences(w, 10_000) });
      console.log(`fenced       the same with 10 000 geofences, overspeed at 90 km/h: ${formatRate(fenced.perSecond)}, one event per ${(FIXES / Math.max(1, fenced.events)).toFixed(0)} fixes (target >= 25,000/s at <= 1 per 50: ${fenced.perSecond >= 25_000 ? 'met' : 'not met'}; ${fenced.cpu})`);
    }
    if (run('latency')) {
      for (const rate of STEADY_RATES) {
        const { event, bare, sent, timedOut, cpu, stages } = await steadyLatency(nats, rate, STEADY_SECONDS, 2000);
        const p50 = percentile(event, 50);
        const p99 = percentile(event, 99);
        const target = P99_TARGETS_MS[rate];
        const verdict = target === undefined ? '' : ` (target p99 <= ${target} ms and no publish timing out: ${p99 <= target && timedOut === 0 ? 'met' : 'not met'})`;
        console.log(`latency      steady ${formatRate(rate)} for ${STEADY_SECONDS} s after ${WARM_UP_SECONDS} s of warm-up, 2 000 devices, a gateway process awaiting acks (${timedOut} publishes timed out), ${sent} events: publish -> event p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, max ${event[event.length - 1]?.toFixed(1)} ms${verdict}; ${cpu}`);
        console.log(`baseline     publish -> the fix itself on a core subscription: p50 ${percentile(bare, 50).toFixed(2)} ms, p99 ${percentile(bare, 99).toFixed(2)} ms`);
        console.log(`stages       (bucket bounds) ${stages}`);
      }
    }
    if (run('late')) {
      // The same backlog with a tenth of the fixes 1 to 60 s late, against the ordered drain,
      // round by round; then the steady fleet with late fixes: publish -> correction.
      const late = sentLate(messages, DEVICES, { share: LATE.share, maxDelayS: LATE.maxDelayS, random: seededRandom(LATE.seed) }).map((m) => m.message);
      for (let round = 1; round <= ROUNDS; round++) {
        const ordered = await drain(nats, messages);
        const disordered = await drain(nats, late);
        const ratio = disordered.perSecond / ordered.perSecond;
        console.log(`late #${round}      ${FIXES} fixes of ${DEVICES} devices, 10% late by 1-60 s: ${formatRate(disordered.perSecond)} (${disordered.events} events, ${disordered.netEvents} net of retractions) against the ordered drain's ${formatRate(ordered.perSecond)} (${ordered.netEvents} events): ratio ${ratio.toFixed(2)} (target >= 0.7: ${ratio >= 0.7 ? 'met' : 'not met'}); ${disordered.cpu}`);
      }
      const rate = STEADY_RATES[0] ?? 2000;
      const steady = await steadyLatency(nats, rate, STEADY_SECONDS, 2000, LATE);
      console.log(`late steady  ${formatRate(rate)} for ${STEADY_SECONDS} s, 2 000 devices, 10% of fixes 1-60 s late: publish -> event p50 ${percentile(steady.event, 50).toFixed(1)} ms, p99 ${percentile(steady.event, 99).toFixed(1)} ms (${steady.event.length}); publish of a late fix -> its correction p50 ${percentile(steady.corrections, 50).toFixed(1)} ms, p99 ${percentile(steady.corrections, 99).toFixed(1)} ms (${steady.corrections.length}); ${steady.cpu}`);
      console.log(`stages       (bucket bounds) ${steady.stages}`);
    }
    if (run('scale')) {
      for (const processors of [1, 2, 3]) {
        const scaled = await drain(nats, messages, { processors });
        console.log(`scale        ${processors} processor(s): ${formatRate(scaled.perSecond)} (peak RSS ${scaled.rssMiB.map((r) => r.toFixed(0)).join(' / ')} MiB)`);
      }
    }
    if (run('wide')) {
      const wide = await drain(nats, generate(200_000, 100_000, 7));
      console.log(`wide         100 000 devices, 200 000 fixes: ${formatRate(wide.perSecond)}, processor peak RSS ${wide.rssMiB[0]?.toFixed(0)} MiB (target < 250: ${(wide.rssMiB[0] ?? Infinity) < 250 ? 'met' : 'not met'})`);
    }
  } finally {
    await nats.dispose();
  }
}

await main();
