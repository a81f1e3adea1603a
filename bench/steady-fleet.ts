import { pack } from 'msgpackr';

/** One message of the steady fleet: where it goes, its bytes, and whether its event is timed. */
export interface SteadyMessage {
  readonly device: string;
  readonly payload: Uint8Array;
  /** `device@ts` for a fix whose ignition flips (an event follows) in the measured part; else null. */
  readonly key: string | null;
  /** A fix of device 0 in the measured part: its own arrival is the baseline. */
  readonly probe: boolean;
}

/**
 * `rate` fixes a second for `seconds` plus `warmUpSeconds`, from `devices` devices whose ignition
 * flips every tenth fix, staggered by device so that one fix in ten derives an event at every
 * moment. Made beforehand, so that the publisher spends its time publishing.
 */
export function steadyFleet(rate: number, seconds: number, warmUpSeconds: number, devices: number, base: number): SteadyMessage[] {
  const total = rate * (seconds + warmUpSeconds);
  const measuredFrom = rate * warmUpSeconds;
  return Array.from({ length: total }, (_, i) => {
    const device = i % devices;
    const n = Math.floor(i / devices);
    const ts = base + n * 1000;
    const phase = n + device;
    return {
      device: `veh-${device}`,
      payload: pack({ ts, lat: 48.1 + device * 1e-4, lon: 11.5, speed: 30, ignition: Math.floor(phase / 10) % 2 === 0 }),
      key: phase % 10 === 0 && n > 0 && i >= measuredFrom ? `veh-${device}@${ts}` : null,
      probe: device === 0 && i >= measuredFrom,
    };
  });
}

/** Wall-clock milliseconds with sub-millisecond resolution, comparable between processes. */
export function epochNow(): number {
  return performance.timeOrigin + performance.now();
}
