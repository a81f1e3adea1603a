import { pack } from 'msgpackr';

/** One message of the steady fleet: where it goes, its bytes, and whether its event is timed. */
export interface SteadyMessage {
  readonly device: string;
  readonly payload: Uint8Array;
  /** `device@ts` for a fix whose ignition flips (an event follows) in the measured part; else null. */
  readonly key: string | null;
  /** A fix of device 0 in the measured part: its own arrival is the baseline. */
  readonly probe: boolean;
  /** Sent later than fixes newer than it: its event comes from a correction. */
  readonly late: boolean;
}

/** A share of the fixes sent late: each such fix after the fixes of 1 to `maxDelayS` seconds more. */
export interface Lateness {
  readonly share: number;
  readonly maxDelayS: number;
  readonly random: () => number;
}

/**
 * The messages in the order they are sent when a `share` of them comes 1 to `maxDelayS` seconds
 * of fix time late (as behind a gateway that retries, or a device back from a tunnel): each is
 * moved after the fixes of that many seconds more. `perSecond`: fixes per second of fix time.
 */
export function sentLate<T>(messages: readonly T[], perSecond: number, lateness: Lateness): { message: T; late: boolean }[] {
  return messages
    .map((message, i) => {
      const late = i >= perSecond && lateness.random() < lateness.share;
      const delay = late ? (1 + Math.floor(lateness.random() * lateness.maxDelayS)) * perSecond : 0;
      return { message, late, at: i + delay + (late ? 0.5 : 0) };
    })
    .sort((a, b) => a.at - b.at)
    .map(({ message, late }) => ({ message, late }));
}

/**
 * `rate` fixes a second for `seconds` plus `warmUpSeconds`, from `devices` devices whose ignition
 * flips every tenth fix, staggered by device so that one fix in ten derives an event at every
 * moment. Made beforehand, so that the publisher spends its time publishing.
 */
export function steadyFleet(rate: number, seconds: number, warmUpSeconds: number, devices: number, base: number, lateness?: Lateness): SteadyMessage[] {
  const total = rate * (seconds + warmUpSeconds);
  const measuredFrom = rate * warmUpSeconds;
  const inOrder = Array.from({ length: total }, (_, i) => {
    const device = i % devices;
    const n = Math.floor(i / devices);
    const ts = base + n * 1000;
    const phase = n + device;
    return {
      device: `veh-${device}`,
      payload: pack({ ts, lat: 48.1 + device * 1e-4, lon: 11.5, speed: 30, ignition: Math.floor(phase / 10) % 2 === 0 }),
      key: phase % 10 === 0 && n > 0 && i >= measuredFrom ? `veh-${device}@${ts}` : null,
      probe: device === 0 && i >= measuredFrom,
      late: false,
    };
  });
  if (lateness === undefined) return inOrder;
  // A late fix's key times its correction (its event, derived again with late: true); a probe
  // sent late would time nothing.
  return sentLate(inOrder, devices, lateness).map(({ message, late }) => ({ ...message, late, probe: message.probe && !late }));
}

/** Wall-clock milliseconds with sub-millisecond resolution, comparable between processes. */
export function epochNow(): number {
  return performance.timeOrigin + performance.now();
}
