import { describe, expect, it } from 'vitest';
import { Backtest, type BacktestFix } from '../../../src/core/backtest.js';
import { geofenceFromFeature, isGeofenceError } from '../../../src/core/geometry/geofence.js';
import { DEFAULT_RULES } from '../../../src/core/rule-config.js';

const yard = { type: 'Polygon', coordinates: [[[0, 0], [0.01, 0], [0.01, 0.01], [0, 0.01], [0, 0]]] };
const square = geofenceFromFeature('t', { type: 'Feature', properties: { id: 'yard', name: 'Yard', dwell_s: 60 }, geometry: yard }, 'yard');
if (isGeofenceError(square)) throw new Error(square.message);

const fix = (deviceId: string, s: number, lon: number, lat = 0.005): BacktestFix => ({ deviceId, ts: s * 1000, lat, lon, speed: null });
const run = (fixes: BacktestFix[]) => {
  const backtest = new Backtest('t', square, DEFAULT_RULES);
  const events = fixes.flatMap((f) => backtest.take(f).map((e) => `${e.deviceId} ${e.occurredAt / 1000} ${e.type}`));
  return { events, counts: backtest.counts };
};

describe('Backtest - the geofence rule over stored fixes', () => {
  it('derives enter, dwell, leave and crossed per device, each device starting outside', () => {
    const { events, counts } = run([
      fix('a', 0, -0.01), fix('a', 10, 0.005), fix('a', 100, 0.006), fix('a', 110, 0.02),
      // b is inside at its first fix: it enters there; a's state does not carry over.
      fix('b', 5, 0.005), fix('b', 6, 0.005),
      // c crosses between two fixes outside, on either side.
      fix('c', 0, -0.01), fix('c', 10, 0.03),
    ]);
    expect(events).toEqual(['a 10 geofence.enter', 'a 100 geofence.dwell', 'a 110 geofence.leave', 'b 5 geofence.enter', 'c 10 geofence.crossed']);
    expect(counts).toEqual({ fixes: 8, devices: 3 });
  });

  it('judges each device with the tags it is given: a geofence with device_tags derives only for devices with one', () => {
    const reefers = geofenceFromFeature('t', { type: 'Feature', properties: { id: 'cold', device_tags: ['reefer'] }, geometry: yard }, 'cold');
    if (isGeofenceError(reefers)) throw new Error(reefers.message);
    const backtest = new Backtest('t', reefers, DEFAULT_RULES, new Map([['a', ['reefer']], ['b', ['tanker']]]));
    const events = [fix('a', 0, 0.005), fix('b', 0, 0.005), fix('c', 0, 0.005)].flatMap((f) => backtest.take(f).map((e) => `${e.deviceId} ${e.type}`));
    expect(events).toEqual(['a geofence.enter']);
  });

  it('skips a fix no newer than the device\'s previous one, as the live path does', () => {
    expect(run([fix('a', 10, 0.005), fix('a', 10, -0.01), fix('a', 20, 0.005)]).events).toEqual(['a 10 geofence.enter']);
  });
});
