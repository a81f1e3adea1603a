import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { inSchedule, parseSchedule, type Schedule } from '../../src/core/schedule.js';
import { seededRandom } from '../../src/simulate/random.js';

// Python's zoneinfo (the IANA database, as Python reads it) is the oracle for local time, and
// dateutil's rrule for the dates RRULEs pick: the script below takes each instant to local time
// there and applies the windows as docs/rules.md states them, independently of
// src/core/schedule.ts.
const ORACLE = `
import json, sys, datetime
from zoneinfo import ZoneInfo
from dateutil.rrule import rrulestr
job = json.load(sys.stdin)
zone = ZoneInfo(job['timezone'])
# A rule without DTSTART starts on 2000-01-01 (docs/rules.md).
rules = [rrulestr(text, dtstart=datetime.datetime(2000, 1, 1)) for text in job.get('rrule', [])]
picked = {}
def scheduled(date):
    if not rules:
        return True
    if date not in picked:
        start = datetime.datetime(date.year, date.month, date.day)
        end = start + datetime.timedelta(days=1) - datetime.timedelta(microseconds=1)
        picked[date] = any(r.between(start, end, inc=True) for r in rules)
    return picked[date]
days = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun']
def minutes(hhmm):
    h, m = hhmm.split(':')
    return int(h) * 60 + int(m)
def open_at(ms):
    local = datetime.datetime.fromtimestamp(ms / 1000, tz=zone)
    minute = local.hour * 60 + local.minute
    today = local.date()
    yesterday = today - datetime.timedelta(days=1)
    for w in job['windows']:
        on = [days.index(d) for d in w['days']]
        start, end = minutes(w['from']), minutes(w['to'])
        if start < end:
            if local.weekday() in on and start <= minute < end and today.isoformat() not in job['except'] and scheduled(today):
                return True
        else:
            if local.weekday() in on and minute >= start and today.isoformat() not in job['except'] and scheduled(today):
                return True
            if yesterday.weekday() in on and minute < end and yesterday.isoformat() not in job['except'] and scheduled(yesterday):
                return True
    return False
print(json.dumps([open_at(ms) for ms in job['instants']]))
`;

/** Instants every 7 minutes across two days around each daylight-saving change, and at random through 2026. */
function instants(changes: readonly string[], seed: number): number[] {
  const random = seededRandom(seed);
  const out: number[] = [];
  for (const change of changes) {
    const at = Date.parse(change);
    for (let t = at - 86_400_000; t <= at + 86_400_000; t += 7 * 60_000) out.push(t);
  }
  const start = Date.parse('2026-01-01T00:00:00Z');
  for (let i = 0; i < 3000; i++) out.push(start + Math.floor(random() * 365 * 86_400) * 1000);
  return out;
}

function oracle(schedule: unknown, at: readonly number[]): boolean[] {
  const result = spawnSync('python3', ['-c', ORACLE], { input: JSON.stringify({ ...(schedule as object), instants: at }), encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`python3 failed: ${result.stderr}`);
  return JSON.parse(result.stdout) as boolean[];
}

describe('schedules against Python\'s zoneinfo, across both 2026 daylight-saving changes', () => {
  const windows = [
    { days: ['mon', 'tue', 'wed', 'thu', 'fri'], from: '07:00', to: '19:00' },
    { days: ['sat'], from: '22:00', to: '06:00' },
    // Across the hour the spring change skips and the autumn change repeats.
    { days: ['sun'], from: '01:30', to: '03:30' },
  ];
  const cases = [
    { timezone: 'Europe/Vienna', changes: ['2026-03-29T01:00:00Z', '2026-10-25T01:00:00Z'], except: ['2026-03-28', '2026-12-24'] },
    { timezone: 'America/Los_Angeles', changes: ['2026-03-08T10:00:00Z', '2026-11-01T09:00:00Z'], except: ['2026-11-01', '2026-07-04'] },
  ];
  // The last Sunday of a month (when Europe's changes fall), the first Sunday (Los Angeles's in
  // November) and every other week from DTSTART.
  const rrule = ['FREQ=MONTHLY;BYDAY=-1SU,1SU', 'DTSTART:20260105\nRRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TU,WE,TH,FR,SA;UNTIL=20261130'];
  for (const [{ timezone, changes, except }, rules] of cases.flatMap((c) => [[c, undefined], [c, rrule]] as const)) {
    it(`${timezone}${rules === undefined ? '' : ' with RRULEs (dateutil)'}: every instant in or out of the windows as Python says`, () => {
      const raw = { timezone, windows, except, ...(rules === undefined ? {} : { rrule: rules }) };
      const schedule = parseSchedule(raw) as Schedule;
      const at = instants(changes, timezone.length);
      const expected = oracle(raw, at);
      const got = at.map((ts) => inSchedule(schedule, ts));
      const differing = at.filter((_, i) => got[i] !== expected[i]).map((ts) => new Date(ts).toISOString());
      expect(differing).toEqual([]);
      // Both answers occur, around the changes too: the comparison is not of constants.
      expect(got.filter(Boolean).length).toBeGreaterThan(500);
      expect(got.filter((x) => !x).length).toBeGreaterThan(500);
    });
  }
});
