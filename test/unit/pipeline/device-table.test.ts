import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { INITIAL_STATE, type DeviceState } from '../../../src/core/device-state.js';
import { DeviceTable } from '../../../src/pipeline/device-table.js';

const time = fc.integer({ min: 0, max: 4_102_444_800_000 });
const coordinate = fc.double({ min: -180, max: 180, noNaN: true });
const amount = fc.double({ min: 0, max: 1e6, noNaN: true });
const maybe = <T>(value: fc.Arbitrary<T>) => fc.option(value, { nil: null });
const name = fc.string({ maxLength: 12 });

/** Any state the rules can hold, the rare parts included. */
const anyState: fc.Arbitrary<DeviceState> = fc.record({
  lastFix: maybe(fc.record({
    ts: time, lat: coordinate, lon: coordinate, speed: maybe(amount), heading: maybe(amount), ignition: maybe(fc.boolean()), odometer: maybe(amount),
  })),
  lastReceivedAt: maybe(time),
  inside: fc.dictionary(name, fc.record({ enteredAt: time, dwellSent: fc.boolean(), name, leavingSince: time }, { requiredKeys: ['enteredAt', 'dwellSent', 'name'] })),
  zone: maybe(name),
  entering: fc.dictionary(name, time),
  overspeed: fc.record({ candidateSince: maybe(time), active: maybe(fc.record({ startedAt: time, maxSpeed: amount, limit: amount })) }),
  idle: fc.record({ since: maybe(time), started: fc.boolean() }),
  trip: maybe(fc.record({
    startedAt: time, start: fc.record({ lat: coordinate, lon: coordinate }), distanceKm: amount, maxSpeed: amount,
    lastMoving: fc.record({ ts: time, lat: coordinate, lon: coordinate }),
  })),
  offlineSince: maybe(time),
  driverId: maybe(name),
  heartbeatAt: maybe(time),
  thresholds: fc.dictionary(name, fc.record({ since: time, exceeded: fc.boolean(), extreme: coordinate })),
  tags: fc.uniqueArray(name, { maxLength: 4 }),
  route: maybe(fc.record({ routeId: name, offSince: maybe(time), deviated: fc.boolean() })),
});

describe('the packed device table', () => {
  it('gives back every state as it was stored, each device in its own slot, however many devices it grows to', () => {
    fc.assert(fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 2999 }), anyState), { minLength: 1, maxLength: 3000 }), (writes) => {
      const table = new DeviceTable();
      const expected = new Map<number, DeviceState>();
      for (const [device, state] of writes) {
        table.set({ tenantId: 't', deviceId: `d${device}`, state });
        expected.set(device, state);
      }
      expect(table.size).toBe(expected.size);
      for (const [device, state] of expected) {
        const slot = table.slotOf('t', `d${device}`) as number;
        expect(table.row(slot)).toEqual({ tenantId: 't', deviceId: `d${device}`, state });
      }
    }), { numRuns: 30 });
  });

  it('reads a checkpoint written before devices had tags as one without tags', () => {
    const { tags: _, ...before } = INITIAL_STATE;
    const table = new DeviceTable([{ tenantId: 't', deviceId: 'old', state: { ...before, driverId: 'anna' } }]);
    expect(table.state(table.slotOf('t', 'old') as number).tags).toEqual([]);
  });

  it('reads a checkpoint written before fixes kept their heading as one without a heading', () => {
    const lastFix = { ts: 1, lat: 48, lon: 11, speed: 10, ignition: true, odometer: 3 };
    const table = new DeviceTable([{ tenantId: 't', deviceId: 'old', state: { ...INITIAL_STATE, lastFix } }]);
    expect(table.state(table.slotOf('t', 'old') as number).lastFix).toEqual({ ...lastFix, heading: null });
  });

  it('keeps devices of different tenants with the same id apart', () => {
    const table = new DeviceTable();
    const a = table.set({ tenantId: 'a', deviceId: 'x', state: { ...INITIAL_STATE, driverId: 'anna' } });
    const b = table.set({ tenantId: 'b', deviceId: 'x', state: INITIAL_STATE });
    expect(a).not.toBe(b);
    expect(table.state(a).driverId).toBe('anna');
    expect(table.state(b)).toEqual(INITIAL_STATE);
  });
});
