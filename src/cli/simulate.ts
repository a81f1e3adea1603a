import type { Logger } from 'pino';
import { withTelemetryPublisher } from '../bus/one-shot.js';
import type { Config } from '../config.js';
import { isValidToken } from '../core/token.js';
import { UsageError } from '../errors.js';
import { simulateFleet } from '../simulate/simulator.js';
import { CITIES } from '../simulate/vehicle.js';

export interface SimulateArgs {
  readonly devices?: string;
  readonly rate?: string;
  readonly duration?: string;
  readonly tenant?: string;
  readonly seed?: string;
  readonly area?: string;
}

function positive(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new UsageError(`--${name} "${raw}" must be a positive number`);
  return value;
}

/** `fencewire simulate`: publishes a simulated fleet and prints progress to stderr. */
export async function simulateCommand(config: Config, log: Logger, args: SimulateArgs): Promise<void> {
  const tenant = args.tenant ?? 'demo';
  if (!isValidToken(tenant)) throw new UsageError(`--tenant "${tenant}" must be 1-64 characters of [A-Za-z0-9_-]`);
  const devices = Math.floor(positive('devices', args.devices, 100));
  const rate = positive('rate', args.rate, 100);
  const durationS = positive('duration', args.duration, 60);
  const seed = Math.floor(positive('seed', args.seed, 1));
  const area = args.area ?? 'munich';
  const city = CITIES[area];
  if (city === undefined) throw new UsageError(`--area "${area}" is not one of ${Object.keys(CITIES).join(', ')}`);
  await withTelemetryPublisher(config, log, async (publish) => {
    const final = await simulateFleet(publish, {
      tenant, devices, rate, durationS, seed, city,
      onProgress: (p) => process.stderr.write(`simulate: ${p.published} fixes published, ${Math.round(p.ratePerS)}/s, ${p.failed} failed, ${Math.round(p.elapsedS)}s of ${durationS}s\n`),
    });
    process.stderr.write(`simulate: done, ${final.published} fixes from ${devices} devices in ${final.elapsedS.toFixed(1)}s (${Math.round(final.ratePerS)}/s), ${final.failed} failed\n`);
    if (final.failed > 0) process.exitCode = 1;
  });
}
