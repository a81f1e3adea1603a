import { describe, expect, it } from 'vitest';
import { INITIAL_STATE } from '../../../src/core/device-state.js';
import { resolveRules, rulesForTags } from '../../../src/core/rule-config.js';
import { RuleEngine } from '../../../src/pipeline/rule-engine.js';
import { GeofenceIndex } from '../../../src/core/geometry/geofence-index.js';
import { fence, fix, run, T0, type Row } from './timeline.js';

// Device tags (issue 21, item 3): geofences for some devices only (properties.device_tags), and
// tenant rules overridden per tag, the first matching override winning.
const square = { type: 'Polygon', coordinates: [[[13, 52], [13.01, 52], [13.01, 52.01], [13, 52.01], [13, 52]]] };
const across = (speed = 30): Row[] => [
  { t: 0, lat: 52.005, lon: 12.99, speed }, { t: 10, lat: 52.005, lon: 13.005, speed }, { t: 20, lat: 52.005, lon: 13.006, speed },
  { t: 30, lat: 52.005, lon: 13.02, speed },
];
const tagged = (...tags: string[]) => ({ ...INITIAL_STATE, tags });

describe('device tags - geofences and rules for some devices', () => {
  const depot = fence('depot', square, { device_tags: ['reefer', 'tanker'] });

  it('a geofence with device_tags derives events only for devices with one of them', () => {
    expect(run(across(), [depot], {}, tagged('reefer')).events).toEqual([[10, 'geofence.enter'], [30, 'geofence.leave']]);
    expect(run(across(), [depot], {}, tagged('tanker', 'north')).events).toEqual([[10, 'geofence.enter'], [30, 'geofence.leave']]);
    expect(run(across(), [depot], {}, tagged('north')).events).toEqual([]);
    expect(run(across(), [depot]).events).toEqual([]);
    // Nor is it crossed by an untagged device between two fixes outside it.
    const sparse: Row[] = [{ t: 0, lat: 52.005, lon: 12.99 }, { t: 60, lat: 52.005, lon: 13.02 }];
    expect(run(sparse, [depot], {}, tagged('reefer')).events).toEqual([[60, 'geofence.crossed']]);
    expect(run(sparse, [depot]).events).toEqual([]);
  });

  it('its speed limit applies only to the devices it targets', () => {
    const slow = fence('slow', square, { speed_limit: 20, device_tags: ['reefer'] });
    const rows = across(60).map((r, i) => ({ ...r, t: i * 10 }));
    const limited = run([...rows.slice(0, 3), { ...rows[2] as Row, t: 25, lon: 13.007 }], [slow], { overspeedMinDurationS: 10 }, tagged('reefer'));
    expect(limited.events.map(([, type]) => type)).toContain('overspeed.started');
    expect(run(rows.slice(0, 3), [slow], { overspeedMinDurationS: 10 }).events.map(([, type]) => type)).not.toContain('overspeed.started');
  });

  it('takes the first override whose tag a device has, over the tenant\'s own settings', () => {
    const { rules, problems } = resolveRules({
      overspeedLimitKmh: 100, idleMinDurationS: 120,
      ruleOverrides: [{ tag: 'reefer', overspeedLimitKmh: 80 }, { tag: 'north', overspeedLimitKmh: 60, idleMinDurationS: 30 }],
    });
    expect(problems).toEqual([]);
    expect(rulesForTags(rules, ['north', 'reefer']).overspeedLimitKmh).toBe(80);
    expect(rulesForTags(rules, ['north'])).toMatchObject({ overspeedLimitKmh: 60, idleMinDurationS: 30 });
    expect(rulesForTags(rules, ['reefer'])).toMatchObject({ overspeedLimitKmh: 80, idleMinDurationS: 120 });
    expect(rulesForTags(rules, ['other'])).toBe(rules);
    expect(rulesForTags(rules, undefined)).toBe(rules);
    // At 90 km/h: over the reefer's 80 (+5), under the tenant's 100.
    const fast: Row[] = [0, 10, 20, 30].map((t) => ({ t, lat: 52, lon: 13 + t * 0.0001, speed: 90 }));
    expect(run(fast, [], rules, tagged('reefer')).events).toEqual([[10, 'overspeed.started']]);
    expect(run(fast, [], rules).events).toEqual([]);
  });

  it('names what is wrong with an override', () => {
    const { problems } = resolveRules({ ruleOverrides: [{ overspeedLimitKmh: 80 }, { tag: 'reefer', lateFixWindowS: 10, idleSpeedKmh: -1, nope: 1 }] });
    expect(problems).toEqual([
      'ruleOverrides[0].tag must be a device tag (1-64 of A-Z a-z 0-9 _ -)',
      'ruleOverrides[1] cannot set lateFixWindowS: a tenant-wide setting',
      'ruleOverrides[1].idleSpeedKmh must be a number >= 0',
      'unknown rule setting ruleOverrides[1].nope',
    ]);
    expect(resolveRules({ ruleOverrides: {} }).problems).toEqual([expect.stringMatching(/^ruleOverrides must be an array of at most 32/)]);
  });

  it('a tag change takes effect in stream order: the fixes before it keep the old rules, those after take the new', () => {
    const { rules } = resolveRules({ overspeedLimitKmh: 100, ruleOverrides: [{ tag: 'reefer', overspeedLimitKmh: 50 }] });
    const engine = new RuleEngine({ forTenant: () => ({ index: new GeofenceIndex([depot]), rules }), rulesFor: () => rules });
    const types = (t: number, lon: number, speed: number) => engine.process(fix({ t, lat: 52.005, lon, speed }), T0 + t * 1000).events.map((e) => e.type);
    // Inside the depot untagged: no event; tagged, the next fix enters it and the 50 km/h limit applies.
    expect(types(0, 13.005, 70)).toEqual([]);
    expect(types(10, 13.005, 70)).toEqual([]);
    engine.setTags({ tenantId: 'acme', deviceId: 'veh-1', tags: ['reefer'] });
    expect(types(20, 13.006, 70)).toEqual(['geofence.enter', 'geofence.change']);
    expect(types(30, 13.006, 70)).toEqual(['overspeed.started']);
    // Untagged again: the depot no longer applies, and is forgotten without a leave (the device's zone is none again).
    engine.setTags({ tenantId: 'acme', deviceId: 'veh-1', tags: [] });
    expect(types(40, 13.007, 40)).toEqual(['geofence.change', 'overspeed.ended']);
    expect(types(50, 13.02, 40)).toEqual([]);
  });
});
