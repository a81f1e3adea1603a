import { describe, expect, it } from 'vitest';
import { INITIAL_STATE, type DeviceState } from '../../../src/core/device-state.js';
import { processFix } from '../../../src/core/process-fix.js';
import { RULES } from '../../../src/core/event-sources.js';
import { DEFAULT_RULES, resolveRules } from '../../../src/core/rule-config.js';
import { batchSummaries } from '../../../src/core/rules/positions-batch.js';
import { driverChange } from '../../../src/core/rules/driver.js';
import { GeofenceIndex } from '../../../src/core/geometry/geofence-index.js';
import { fence, fix, run, T0, type Row } from './timeline.js';

// The timelines of the event types the fleet platforms send (contract section 3): one fix
// every 10 s unless a test says otherwise.
const at = (t: number, extra: Partial<Row> = {}): Row => ({ t, lat: 52, lon: 13 + t * 0.00001, ...extra });
const temperature = (t: number, value: number): Row => at(t, { attributes: { temperature: value } });

describe('attribute thresholds', () => {
  const coldChain = resolveRules({ attributeThresholds: [{ attribute: 'temperature', above: 8, below: 2, minDurationS: 60, hysteresis: 0.5 }] }).rules;

  it('exceeds only after the minimum duration beyond the limit, and clears past the hysteresis with the extreme and duration', () => {
    const rows = [temperature(0, 5), temperature(10, 8.5), temperature(40, 9.5), temperature(70, 9), temperature(80, 7.8), temperature(90, 7.4)];
    const { events, all } = run(rows, [], coldChain);
    expect(events).toEqual([[70, 'attribute.threshold_exceeded'], [90, 'attribute.threshold_cleared']]);
    expect(all[0]?.data).toEqual({ attribute: 'temperature', value: 9, limit: 8, direction: 'above', lat: 52, lon: 13.0007 });
    expect(all[1]?.data).toEqual({ attribute: 'temperature', value: 7.4, limit: 8, direction: 'above', duration_seconds: 80, max_value: 9.5 });
  });

  it('does not flap while the value hovers at the limit, inside the hysteresis', () => {
    const hovering = [8.2, 7.9, 8.1, 7.6, 8.0, 7.7, 8.3, 7.9].map((v, i) => temperature(70 + i * 10, v));
    const { events } = run([temperature(0, 9), temperature(60, 9), ...hovering], [], coldChain);
    expect(events).toEqual([[60, 'attribute.threshold_exceeded']]);
  });

  it('forgets an excursion shorter than the minimum duration', () => {
    const { events } = run([temperature(0, 9), temperature(50, 9), temperature(55, 7), temperature(100, 9), temperature(150, 9)], [], coldChain);
    expect(events).toEqual([]);
  });

  it('watches the lower limit with min_value, and keeps an episode across fixes that do not report the attribute', () => {
    const rows = [temperature(0, 1.5), at(30), temperature(60, 0.4), at(70), temperature(80, 2.4), temperature(90, 2.6)];
    const { events, all } = run(rows, [], coldChain);
    expect(events).toEqual([[60, 'attribute.threshold_exceeded'], [90, 'attribute.threshold_cleared']]);
    expect(all[1]?.data).toMatchObject({ direction: 'below', limit: 2, min_value: 0.4, duration_seconds: 90 });
  });

  it('exceeds at once without a minimum duration, and ignores attributes that are not numbers', () => {
    const rules = resolveRules({ attributeThresholds: [{ attribute: 'fuel_level', below: 10 }] }).rules;
    const { events } = run([at(0, { attributes: { fuel_level: 'low' } }), at(10, { attributes: { fuel_level: 9 } })], [], rules);
    expect(events).toEqual([[10, 'attribute.threshold_exceeded']]);
  });

  it('refuses malformed thresholds with a reason each', () => {
    const { problems } = resolveRules({ attributeThresholds: [{ attribute: 'temperature' }, { attribute: 't', above: 1, below: 5 }, { attribute: 'x', above: 1, colour: 'red' }, 'hot'] });
    expect(problems).toEqual([
      'attributeThresholds[0] needs a limit: above, below or both',
      'attributeThresholds[1].below (5) must be less than above (1)',
      'attributeThresholds[2] has an unknown setting colour',
      'attributeThresholds[3] must be an object such as {"attribute": "temperature", "above": 8, "minDurationS": 60, "hysteresis": 0.5}',
    ]);
    expect(resolveRules({ attributeThresholds: [{ attribute: 'a', above: 1 }, { attribute: 'a', below: 0 }] }).problems).toEqual(['attributeThresholds names a twice; give one entry both limits']);
  });
});

describe('drivers', () => {
  it('assigns from the report, changes with the previous driver named, and unassigns on null; a report without the field changes nothing', () => {
    const rows = [at(0), at(10, { driverId: 'anna' }), at(20), at(30, { driverId: 'anna' }), at(40, { driverId: 'bert' }), at(50, { driverId: null })];
    const { events, all } = run(rows);
    expect(events).toEqual([[10, 'driver.assigned'], [40, 'driver.assigned'], [50, 'driver.unassigned']]);
    expect(all.map((e) => e.data)).toEqual([
      { driver_id: 'anna', previous_driver_id: null, source: 'device' },
      { driver_id: 'bert', previous_driver_id: 'anna', source: 'device' },
      { driver_id: null, previous_driver_id: 'bert', source: 'device' },
    ]);
  });

  it('takes a dispatcher assignment into the same state: the device reporting the same driver afterwards is no change', () => {
    const first = run([at(0)]);
    const assigned = driverChange('acme', 'veh-1', first.state, 'carl', T0 + 5000, 'api');
    expect(assigned.events.map((e) => e.data)).toEqual([{ driver_id: 'carl', previous_driver_id: null, source: 'api' }]);
    const state = { ...first.state, ...assigned.state } as DeviceState;
    expect(run([at(10, { driverId: 'carl' }), at(20, { driverId: null })], [], {}, state).events).toEqual([[20, 'driver.unassigned']]);
    expect(driverChange('acme', 'veh-1', state, 'carl', T0 + 6000, 'api').events).toEqual([]);
  });
});

describe('device.heartbeat', () => {
  const hourly = { heartbeatIntervalS: 3600 };

  it('comes at most once an interval, counted from the first fix, with the latest position and odometer', () => {
    const rows = [at(0, { odometer: 100 }), at(1800), at(3599), at(3600), at(3700, { odometer: 120 }), at(7199), at(7200, { odometer: 150 })];
    const { events, all } = run(rows, [], hourly);
    expect(events).toEqual([[3600, 'device.heartbeat'], [7200, 'device.heartbeat']]);
    expect(all[0]?.data).toEqual({ last_seen_at: new Date(T0 + 3_600_000).toISOString(), lat: 52, lon: 13.036, odometer: 100 });
    expect(all[1]?.data).toMatchObject({ odometer: 150 });
  });

  it('keeps its interval across a restart: the state checkpointed as JSON and loaded again', () => {
    const before = run([at(0), at(3600), at(4000)], [], hourly);
    const reloaded = { ...INITIAL_STATE, ...(JSON.parse(JSON.stringify(before.state)) as DeviceState) };
    const after = run([at(5000), at(7199), at(7200)], [], hourly, reloaded);
    expect(before.events).toEqual([[3600, 'device.heartbeat']]);
    expect(after.events).toEqual([[7200, 'device.heartbeat']]);
  });

  it('is off with an interval of 0, and silent within the first day by default', () => {
    expect(run([at(0), at(90_000)], [], { heartbeatIntervalS: 0 }).events).toEqual([]);
    expect(run([at(0), at(86_399)]).events).toEqual([]);
  });
});

describe('posted speed limit', () => {
  const drive = (speeds: number[], posted: number | undefined): Row[] => speeds.map((speed, i) => at(i * 10, { speed, postedSpeedLimit: posted }));
  const zone = fence('school', { type: 'Polygon', coordinates: [[[12.9, 51.9], [13.1, 51.9], [13.1, 52.1], [12.9, 52.1], [12.9, 51.9]]] }, { speed_limit: 30 });

  it('starts over the posted limit plus the posted tolerance, as limit_source posted', () => {
    const { events, all } = run(drive([50, 56, 60, 62, 45], 50), [], { postedSpeedToleranceKmh: 8, overspeedMinDurationS: 10 });
    expect(events).toEqual([[30, 'overspeed.started'], [40, 'overspeed.ended']]);
    expect(all[0]?.data).toEqual({ speed: 62, limit: 50, limit_source: 'posted', lat: 52, lon: 13.0003 });
  });

  it('takes the stricter of a geofence limit and the posted limit', () => {
    const stricterZone = run(drive([20, 40, 45], 50), [zone], { overspeedMinDurationS: 0 }).all.find((e) => e.type === 'overspeed.started');
    expect(stricterZone?.data).toMatchObject({ limit: 30, limit_source: 'geofence', geofence_id: 'school' });
    const stricterRoad = run(drive([10, 25, 30], 20), [zone], { overspeedMinDurationS: 0 }).all.find((e) => e.type === 'overspeed.started');
    expect(stricterRoad?.data).toMatchObject({ limit: 20, limit_source: 'posted' });
    expect(stricterRoad?.data).not.toHaveProperty('geofence_id');
  });

  it('overrides the rule limit where the device reports one, and the rule limit applies where it does not', () => {
    const rules = { overspeedLimitKmh: 100, overspeedMinDurationS: 0 };
    expect(run(drive([90, 95], 80), [], rules).all[0]?.data).toMatchObject({ limit: 80, limit_source: 'posted' });
    expect(run(drive([90, 95], undefined), [], rules).events).toEqual([]);
  });
});

describe('position.recorded and positions.batch', () => {
  const index = new GeofenceIndex([]);
  const optedIn = { ...DEFAULT_RULES, positionRecorded: true };

  it('records every stored fix of an opted-in tenant, late ones too, but not a duplicate of the newest; none by default', () => {
    const rows = [at(0, { speed: 10, attributes: { temperature: 4 } }), at(20), at(10), at(20)];
    const { events, all } = run(rows, [], { positionRecorded: true });
    expect(events).toEqual([[0, 'position.recorded'], [20, 'position.recorded'], [10, 'position.recorded']]);
    expect(all[0]?.data).toEqual({ lat: 52, lon: 13, speed: 10, heading: null, ignition: null, attributes: { temperature: 4 } });
    expect(run(rows).events).toEqual([]);
    const late = processFix(run(rows.slice(0, 2)).state, fix(at(10)), { index, rules: optedIn, receivedAt: T0 }, RULES);
    expect(late.stale).toBe(true);
    expect(late.events.map((e) => e.type)).toEqual(['position.recorded']);
  });

  it('summarises a batch per opted-in tenant with its count and devices, with an id of the batch', () => {
    const fixes = [fix(at(0)), { ...fix(at(10)), deviceId: 'veh-2' }, fix(at(20)), { ...fix(at(5)), tenantId: 'other' }];
    const summaries = batchSummaries(fixes, (tenant) => tenant === 'acme', 3, 1200);
    expect(summaries).toHaveLength(1);
    expect(summaries[0]).toMatchObject({ type: 'positions.batch', tenantId: 'acme', deviceId: null, occurredAt: T0 + 20_000, data: { count: 3, device_ids: ['veh-1', 'veh-2'] } });
    expect(batchSummaries(fixes, (tenant) => tenant === 'acme', 3, 1200)[0]?.id).toBe(summaries[0]?.id);
    expect(batchSummaries(fixes, (tenant) => tenant === 'acme', 3, 1300)[0]?.id).not.toBe(summaries[0]?.id);
  });
});
