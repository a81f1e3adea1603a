import { describe, expect, it } from 'vitest';
import { matchesSubscription, subscriptionPatternError } from '../../../src/webhooks/subscription.js';

describe('webhooks - subscriptions with * and prefixes, the per-fix types only by name', () => {
  it.each([
    [['*'], 'geofence.enter', true],
    [['*'], 'webhook.test', true],
    [['geofence.*'], 'geofence.enter', true],
    [['geofence.*'], 'geofence.crossed', true],
    [['geofence.*'], 'overspeed.started', false],
    [['geo.*'], 'geofence.enter', false],
    [['geofence.enter'], 'geofence.enter', true],
    [['geofence.enter'], 'geofence.leave', false],
    [['ignition.off', 'trip.*'], 'trip.completed', true],
    [[], 'trip.completed', false],
    [['*'], 'position.recorded', false],
    [['*'], 'positions.batch', false],
    [['*', 'position.recorded'], 'position.recorded', true],
    [['position.*'], 'position.recorded', true],
    [['positions.batch'], 'positions.batch', true],
    [['*'], 'attribute.threshold_exceeded', true],
    // A late fix's retractions reach whoever takes everything, or names them.
    [['*'], 'event.retracted', true],
    [['event.retracted'], 'event.retracted', true],
    [['event.*'], 'event.retracted', true],
    [['geofence.*'], 'event.retracted', false],
  ])('%j matches %s: %s', (patterns, type, expected) => {
    expect(matchesSubscription(patterns, type)).toBe(expected);
  });

  it('accepts types, * and prefixes, and names what is wrong otherwise', () => {
    for (const ok of ['*', 'geofence.*', 'geofence.enter', 'device.offline']) expect(subscriptionPatternError(ok)).toBeNull();
    for (const bad of ['', 'geofence*', '*.enter', 'Geofence.Enter', 'a..b', 'geofence.*.*']) {
      expect(subscriptionPatternError(bad)).toBe(`"${bad}" is not an event type, "*" or a prefix such as "geofence.*"`);
    }
  });
});
