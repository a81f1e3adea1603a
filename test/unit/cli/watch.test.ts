import { describe, expect, it } from 'vitest';
import { eventLine } from '../../../src/cli/watch.js';

describe('watch - one line per event', () => {
  it('gives the fix time, the device, the type and the geofence or the limit', () => {
    const enter = JSON.stringify({ type: 'geofence.enter', device_id: 'sim-00012', occurred_at: '2026-12-01T10:15:42.120Z', data: { geofence_name: 'Mission', lat: 1, lon: 2 } });
    expect(eventLine(enter)).toBe('10:15:42  sim-00012   geofence.enter      Mission');
    const speeding = JSON.stringify({ type: 'overspeed.started', device_id: 'sim-00001', occurred_at: '2026-12-01T10:15:43.000Z', data: { limit: 50, speed: 61 } });
    expect(eventLine(speeding)).toBe('10:15:43  sim-00001   overspeed.started   limit 50 km/h');
    const tenantWide = JSON.stringify({ type: 'positions.batch', device_id: null, occurred_at: '2026-12-01T10:15:44.000Z', data: { count: 3 } });
    expect(eventLine(tenantWide)).toBe('10:15:44  -           positions.batch');
  });

  it('says so when a message is not an envelope', () => {
    expect(eventLine('{oops')).toBe('(not an event envelope: {oops)');
  });

  it('shows a geofence name\'s terminal escapes and direction overrides as \\u escapes, never raw', () => {
    const hostile = JSON.stringify({ type: 'geofence.enter', device_id: 'veh\u001b[2J', occurred_at: '2026-12-01T10:15:42.120Z', data: { geofence_name: 'Depot\u001b]0;pwned\u0007\u202eevil\u009b' } });
    const line = eventLine(hostile);
    expect(line).toBe('10:15:42  veh\\u001b[2J     geofence.enter      Depot\\u001b]0;pwned\\u0007\\u202eevil\\u009b');
    // eslint-disable-next-line no-control-regex -- the controls are what must not be there
    expect(line).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202e]/);
  });
});
