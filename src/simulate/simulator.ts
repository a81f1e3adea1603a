import { Packr } from 'msgpackr';
import { setTimeout as sleep } from 'node:timers/promises';
import type { TelemetryPublisher } from '../bus/one-shot.js';
import { seededRandom } from './random.js';
import { advance, createVehicle, report, type City, type Vehicle } from './vehicle.js';

export interface SimulateOptions {
  readonly tenant: string;
  readonly devices: number;
  /** Fixes per second across the whole fleet. */
  readonly rate: number;
  readonly durationS: number;
  readonly seed: number;
  /** Where the vehicles drive. */
  readonly city: City;
  /** Called about once a second while running. */
  readonly onProgress?: (progress: SimulateProgress) => void;
}

export interface SimulateProgress {
  readonly published: number;
  readonly failed: number;
  readonly elapsedS: number;
  readonly ratePerS: number;
}

const TICK_MS = 50;
/** Publishes awaiting their JetStream acknowledgement; more waits, so memory stays bounded. */
const MAX_OUTSTANDING = 4000;
const packr = new Packr({ useRecords: false });

/**
 * Publishes a simulated fleet to `telemetry.<tenant>.<device>` at a steady rate: every tick
 * sends its share of the rate, taking vehicles round-robin and advancing each to the present.
 */
export async function simulateFleet(publish: TelemetryPublisher, options: SimulateOptions): Promise<SimulateProgress> {
  const random = seededRandom(options.seed);
  const vehicles: Vehicle[] = Array.from({ length: options.devices }, (_, i) => createVehicle(`sim-${String(i).padStart(5, '0')}`, options.city, random));
  const lastAdvanced = new Float64Array(options.devices).fill(Date.now());
  const started = Date.now();
  const endAt = started + options.durationS * 1000;
  let next = 0;
  let owed = 0;
  let published = 0;
  let failed = 0;
  let lastProgress = started;
  const outstanding = new Set<Promise<void>>();

  const progress = (): SimulateProgress => {
    const elapsedS = (Date.now() - started) / 1000;
    return { published, failed, elapsedS, ratePerS: elapsedS > 0 ? published / elapsedS : 0 };
  };

  while (Date.now() < endAt) {
    const tickStart = Date.now();
    owed += (options.rate * TICK_MS) / 1000;
    for (; owed >= 1; owed--) {
      const i = next;
      next = (next + 1) % vehicles.length;
      const vehicle = vehicles[i] as Vehicle;
      const now = Date.now();
      advance(vehicle, (now - (lastAdvanced[i] as number)) / 1000, random);
      lastAdvanced[i] = now;
      const payload = packr.pack(report(vehicle, now, random));
      const sent = publish(options.tenant, vehicle.id, payload).then(
        () => void published++,
        () => void failed++,
      );
      outstanding.add(sent);
      void sent.finally(() => outstanding.delete(sent));
      if (outstanding.size >= MAX_OUTSTANDING) await Promise.race(outstanding);
    }
    if (options.onProgress && tickStart - lastProgress >= 1000) {
      lastProgress = tickStart;
      options.onProgress(progress());
    }
    const wait = TICK_MS - (Date.now() - tickStart);
    if (wait > 0) await sleep(wait);
  }
  await Promise.all(outstanding);
  return progress();
}
