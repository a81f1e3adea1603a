/**
 * A gateway in a process of its own, for the latency benchmark: publishes the steady fleet to
 * JetStream at its rate, awaiting each acknowledgement (at most MAX_IN_FLIGHT outstanding, as a
 * gateway with a send buffer would), and tells its parent over IPC when each timed fix was sent.
 * Run by bench/ingest.bench.ts with `fork`; its arguments come as JSON in GATEWAY_ARGS.
 */
import { jetstream } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { seededRandom } from '../src/simulate/random.js';
import { epochNow, steadyFleet } from './steady-fleet.js';

interface GatewayArgs {
  readonly natsUrl: string;
  readonly user: string | null;
  readonly password: string | null;
  readonly subjectPrefix: string;
  readonly rate: number;
  readonly seconds: number;
  readonly warmUpSeconds: number;
  readonly devices: number;
  readonly base: number;
  /** A share of the fixes sent 1 to maxDelayS seconds of fix time late. */
  readonly late?: { readonly share: number; readonly maxDelayS: number; readonly seed: number };
}

const MAX_IN_FLIGHT = 2000;
const ACK_TIMEOUT_MS = 5000;

const args = JSON.parse(process.env.GATEWAY_ARGS ?? '{}') as GatewayArgs;
const nc = await connect({ servers: args.natsUrl, ...(args.user ? { user: args.user, pass: args.password ?? '' } : {}) });
const js = jetstream(nc, { timeout: ACK_TIMEOUT_MS });
const lateness = args.late === undefined ? undefined : { share: args.late.share, maxDelayS: args.late.maxDelayS, random: seededRandom(args.late.seed) };
const outgoing = steadyFleet(args.rate, args.seconds, args.warmUpSeconds, args.devices, args.base, lateness);
let inFlight = 0;
let timedOut = 0;
let failed = 0;
const started = performance.now();
for (let i = 0; i < outgoing.length;) {
  const due = Math.min(outgoing.length, Math.floor(((performance.now() - started) / 1000) * args.rate));
  for (; i < due && inFlight < MAX_IN_FLIGHT; i++) {
    const m = outgoing[i] as (typeof outgoing)[number];
    const at = epochNow();
    if (m.key !== null || m.probe) process.send?.({ key: m.key, probe: m.probe, late: m.late, at });
    inFlight++;
    js.publish(`${args.subjectPrefix}${m.device}`, m.payload).then(
      () => inFlight--,
      (err: Error) => {
        inFlight--;
        if (/timeout/i.test(err.message)) timedOut++;
        else failed++;
      },
    );
  }
  await new Promise((resolve) => setTimeout(resolve, 1));
}
while (inFlight > 0) await new Promise((resolve) => setTimeout(resolve, 10));
process.send?.({ done: true, sent: outgoing.length, timedOut, failed, seconds: (performance.now() - started) / 1000 });
await nc.close();
