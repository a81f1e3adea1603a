import { describe, expect, it } from 'vitest';
import { decodeReport } from '../../../src/decode/report.js';
import { isRejection } from '../../../src/decode/rejection.js';
import { seededRandom } from '../../../src/simulate/random.js';
import { advance, createVehicle, MUNICH, report, type Vehicle } from '../../../src/simulate/vehicle.js';

function drive(seed: number, seconds: number): { vehicle: Vehicle; phases: Set<string>; maxSpeed: number; maxStepKmh: number } {
  const random = seededRandom(seed);
  const vehicle = createVehicle('sim-1', MUNICH, random);
  const phases = new Set<string>();
  let maxSpeed = 0;
  let maxStepKmh = 0;
  for (let t = 0; t < seconds; t++) {
    const before = vehicle.speed;
    advance(vehicle, 1, random);
    phases.add(vehicle.phase);
    maxSpeed = Math.max(maxSpeed, vehicle.speed);
    maxStepKmh = Math.max(maxStepKmh, Math.abs(vehicle.speed - before));
  }
  return { vehicle, phases, maxSpeed, maxStepKmh };
}

describe('simulator - vehicles drive plausibly', () => {
  it('is deterministic for a seed', () => {
    expect(drive(7, 3600).vehicle).toEqual(drive(7, 3600).vehicle);
  });

  it('drives, waits at lights and parks within city speeds over a few hours', () => {
    const { phases, maxSpeed, vehicle } = drive(3, 4 * 3600);
    expect(phases).toEqual(new Set(['driving', 'waiting', 'parked']));
    expect(maxSpeed).toBeGreaterThan(20);
    expect(maxSpeed).toBeLessThanOrEqual(65);
    expect(Math.abs(vehicle.lat - MUNICH.lat)).toBeLessThan(0.5);
  });

  it('produces reports that fencewire accepts, with ignition off only when parked', () => {
    const random = seededRandom(11);
    const vehicle = createVehicle('sim-2', MUNICH, random);
    for (let t = 0; t < 2000; t++) {
      advance(vehicle, 1, random);
      const sent = report(vehicle, 1_700_000_000_000 + t * 1000, random);
      expect(sent.ignition).toBe(vehicle.phase !== 'parked');
      expect(isRejection(decodeReport(sent, 'demo', 'sim-2', 1_800_000_000_000))).toBe(false);
    }
  });
});
