import { describe, expect, it } from 'vitest';
import { geofenceFromFeature } from '../../../src/core/geometry/geofence.js';
import { inSchedule, parseSchedule, type Schedule } from '../../../src/core/schedule.js';
import { fence, run, type Row } from './timeline.js';

// Schedules (issue 21, item 2): containment all the time, events and the speed limit only in a
// window of local time; the edges of a window report the devices inside them.
const square = { type: 'Polygon', coordinates: [[[16.3, 48.2], [16.31, 48.2], [16.31, 48.21], [16.3, 48.21], [16.3, 48.2]]] };
const weekdays = { timezone: 'Europe/Vienna', windows: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], from: '07:00', to: '19:00' }] };
const school = (schedule: unknown = weekdays, more: Record<string, unknown> = {}) => fence('school', square, { schedule, ...more });
const IN = { lat: 48.205, lon: 16.305 };
const OUT = { lat: 48.205, lon: 16.29 };
/** Rows at Vienna local times of Wednesday 2026-06-10 (CEST, UTC+2), in seconds after the timeline's T0 (2026-11-22T08:00Z). */
const T0 = Date.parse('2026-11-22T08:00:00Z');
const vienna = (hhmm: string, where: { lat: number; lon: number }, speed?: number): Row =>
  ({ t: (Date.parse(`2026-06-10T${hhmm}:00+02:00`) - T0) / 1000, ...where, speed });
const when = (events: [number, string][]) => events.map(([t, type]) => `${new Date(T0 + t * 1000).toISOString().slice(11, 16)} ${type}`);

describe('geofence schedules', () => {
  it('tracks containment all the time and reports only in the window: a device inside at the opening enters at its first fix in it', () => {
    const { events, all } = run([vienna('06:30', IN), vienna('06:50', IN), vienna('07:05', IN), vienna('08:00', OUT)], [school()]);
    expect(when(events)).toEqual(['05:05 geofence.enter', '06:00 geofence.leave']);
    expect(all[0]?.data).toMatchObject({ window_opened: true });
  });

  it('a device inside at the closing leaves at its first fix after it, and nothing is said of it until the next opening', () => {
    const { events, all } = run([vienna('18:00', OUT), vienna('18:30', IN), vienna('19:10', IN), vienna('19:30', OUT), vienna('20:00', IN)], [school()]);
    expect(when(events)).toEqual(['16:30 geofence.enter', '17:10 geofence.leave']);
    expect(all[1]?.data).toMatchObject({ window_closed: true, dwell_seconds: 2400 });
  });

  it('says nothing of a visit made while it is closed, nor of a weekend', () => {
    expect(run([vienna('05:00', OUT), vienna('05:30', IN), vienna('06:00', OUT)], [school()]).events).toEqual([]);
    const saturday = (hhmm: string, where: { lat: number; lon: number }): Row => ({ ...vienna(hhmm, where), t: vienna(hhmm, where).t + 3 * 86_400 });
    expect(run([saturday('10:00', OUT), saturday('10:30', IN), saturday('11:00', OUT)], [school()]).events).toEqual([]);
  });

  it('applies the speed limit only in the window', () => {
    const limited = school(weekdays, { speed_limit: 30 });
    const rules = { overspeedMinDurationS: 0 };
    expect(run([vienna('08:00', IN, 50), vienna('08:01', IN, 50)], [limited], rules).events.map(([, type]) => type)).toContain('overspeed.started');
    expect(run([vienna('20:00', IN, 50), vienna('20:01', IN, 50)], [limited], rules).events.map(([, type]) => type)).not.toContain('overspeed.started');
  });

  it('keeps windows across midnight and exception dates, in local time across daylight-saving changes', () => {
    const night = parseSchedule({ timezone: 'Europe/Vienna', windows: [{ days: ['sat'], from: '22:00', to: '06:00' }], except: ['2026-10-31'] }) as Schedule;
    // Saturday 2026-03-28 22:30 CET is in; Sunday 03:30, after the clocks went forward, still is.
    expect(inSchedule(night, Date.parse('2026-03-28T22:30:00+01:00'))).toBe(true);
    expect(inSchedule(night, Date.parse('2026-03-29T03:30:00+02:00'))).toBe(true);
    expect(inSchedule(night, Date.parse('2026-03-29T06:30:00+02:00'))).toBe(false);
    // The Saturday night of 2026-10-31 is an exception, including its Sunday morning.
    expect(inSchedule(night, Date.parse('2026-10-31T23:00:00+01:00'))).toBe(false);
    expect(inSchedule(night, Date.parse('2026-11-01T02:00:00+01:00'))).toBe(false);
    expect(inSchedule(night, Date.parse('2026-11-07T23:00:00+01:00'))).toBe(true);
  });

  it('names what is wrong with a schedule', () => {
    const error = (schedule: unknown) => (geofenceFromFeature('t', { type: 'Feature', properties: { schedule }, geometry: square }, 'x') as { message?: string }).message;
    expect(error({ timezone: 'Mars/Olympus', windows: weekdays.windows })).toMatch(/is not a time zone of the IANA database/);
    expect(error({ timezone: 'Europe/Vienna', windows: [{ days: ['mon'], from: '7:00', to: '19:00' }] })).toMatch(/windows\[0\].from must be a local time HH:MM/);
    expect(error({ timezone: 'Europe/Vienna', windows: [{ days: ['someday'], from: '07:00', to: '19:00' }] })).toMatch(/days must be a non-empty array of mon/);
    expect(error({ timezone: 'Europe/Vienna', windows: [] })).toMatch(/windows must be an array of 1 to 64/);
    expect(error({ ...weekdays, except: ['10/31/2026'] })).toMatch(/except must be an array/);
    expect(error({ ...weekdays, colour: 'red' })).toMatch(/unknown member colour/);
    expect(error({ ...weekdays, rrule: 'FREQ=HOURLY' })).toMatch(/rrule has FREQ="HOURLY", which is not a valid FREQ for a schedule \(DAILY, WEEKLY, MONTHLY or YEARLY: the rule picks dates\)/);
    expect(error({ ...weekdays, rrule: ['FREQ=MONTHLY;BYDAY=1MO', 'FREQ=DAILY;BYHOUR=7'] })).toMatch(/rrule\[1\] has "BYHOUR", which a schedule does not take/);
    expect(error({ ...weekdays, rrule: 'FREQ=WEEKLY;INTERVAL=2;BYDAY=MO' })).toMatch(/depends on where it starts .*give its first date as a DTSTART:YYYYMMDD line/);
    expect(error({ ...weekdays, rrule: 'FREQ=WEEKLY;BYDAY=XX' })).toMatch(/BYDAY="XX", which is not a valid BYDAY/);
    expect(error({ ...weekdays, rrule: 'DTSTART:20260105\nRRULE:FREQ=WEEKLY\nEXDATE:20260112' })).toMatch(/a line it does not take: "EXDATE:20260112"/);
    expect(error({ ...weekdays, rrule: 42 })).toMatch(/rrule must be an iCalendar RRULE, or an array of at most 8/);
  });

  it('opens its windows only on the dates its RRULEs pick, when it has any: the first Monday of a month, every other Friday', () => {
    const schedule = parseSchedule({ ...weekdays, rrule: ['FREQ=MONTHLY;BYDAY=1MO', 'DTSTART:20260102\nRRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=FR'] }) as Schedule;
    const at = (local: string) => inSchedule(schedule, Date.parse(local));
    expect(at('2026-12-07T10:00:00+01:00')).toBe(true); // the first Monday of December
    expect(at('2026-12-07T19:30:00+01:00')).toBe(false); // after the window
    expect(at('2026-12-14T10:00:00+01:00')).toBe(false); // the second Monday
    expect(at('2026-01-02T10:00:00+01:00')).toBe(true); // DTSTART, a Friday
    expect(at('2026-01-09T10:00:00+01:00')).toBe(false);
    expect(at('2026-01-16T10:00:00+01:00')).toBe(true);
    expect(at('2025-12-19T10:00:00+01:00')).toBe(false); // before DTSTART
    expect(at('2026-12-05T10:00:00+01:00')).toBe(false); // a Saturday: no window, whatever the rules say
    // The rules' dates are local: 00:30 in Vienna on the first Monday is still Sunday in UTC.
    const night = parseSchedule({ timezone: 'Europe/Vienna', windows: [{ days: ['mon'], from: '00:00', to: '01:00' }], rrule: 'FREQ=MONTHLY;BYDAY=1MO' }) as Schedule;
    expect(inSchedule(night, Date.parse('2026-12-07T00:30:00+01:00'))).toBe(true);
  });
});
