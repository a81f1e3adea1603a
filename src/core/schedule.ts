import rrulePackage from 'rrule';

/**
 * A geofence's schedule (properties.schedule): an IANA time zone and weekly windows of local
 * time, optionally only on the dates iCalendar RRULEs pick, with exception dates. Local time
 * comes from the time zone database through Intl, never from a fixed offset, so daylight-saving
 * changes fall where the zone's rules put them.
 */
const { RRule } = rrulePackage;

const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
const HH_MM = /^([01]\d|2[0-3]):([0-5]\d)$|^24:00$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const MAX_WINDOWS = 64;
const MAX_EXCEPTIONS = 366;
const MAX_RULE_LENGTH = 500;
const MAX_RULES = 8;

export interface ScheduleWindow {
  /** Days the window opens on, 0 = Monday. */
  readonly days: ReadonlySet<number>;
  /** Minutes after local midnight; `to` at or before `from` runs past midnight into the next day. */
  readonly from: number;
  readonly to: number;
}

/** Plain data (no classes or closures): a schedule crosses to and from the geometry thread. */
export interface Schedule {
  readonly timezone: string;
  readonly windows: readonly ScheduleWindow[];
  /** RRULEs (each with its DTSTART line, if given): when there are any, windows open only on dates one of them has an occurrence on. */
  readonly rrules: readonly string[];
  /** Local dates (YYYY-MM-DD) on which no window opens. */
  readonly except: ReadonlySet<string>;
}

/** Local calendar date, weekday (0 = Monday) and minute of the day of an instant in a zone. */
interface LocalTime {
  readonly date: string;
  readonly weekday: number;
  readonly minute: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timezone: string): Intl.DateTimeFormat {
  let f = formatters.get(timezone);
  if (f === undefined) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: timezone, hourCycle: 'h23', weekday: 'short', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' });
    formatters.set(timezone, f);
  }
  return f;
}

const WEEKDAYS: Record<string, number> = { Mon: 0, Tue: 1, Wed: 2, Thu: 3, Fri: 4, Sat: 5, Sun: 6 };

export function localTime(timezone: string, ts: number): LocalTime {
  const parts: Record<string, string> = {};
  for (const part of formatter(timezone).formatToParts(ts)) parts[part.type] = part.value;
  return {
    date: `${parts.year}-${parts.month}-${parts.day}`,
    weekday: WEEKDAYS[parts.weekday as string] as number,
    minute: Number(parts.hour) * 60 + Number(parts.minute),
  };
}

/** The calendar date before a YYYY-MM-DD date. */
function dayBefore(date: string): string {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(y, m - 1, d - 1)).toISOString().slice(0, 10);
}

/** True when the window opens on this local date (weekday 0 = Monday): its weekday, one of the rules' dates, no exception. */
function opensOn(schedule: Schedule, w: ScheduleWindow, weekday: number, date: string): boolean {
  if (!w.days.has(weekday) || schedule.except.has(date)) return false;
  return schedule.rrules.length === 0 || schedule.rrules.some((rule) => ruleDates(rule, Number(date.slice(0, 4))).has(date));
}

/** True when the instant falls in one of the schedule's windows (local time, in its zone). */
export function inSchedule(schedule: Schedule, ts: number): boolean {
  const now = localTime(schedule.timezone, ts);
  for (const w of schedule.windows) {
    if (w.from < w.to) {
      if (now.minute >= w.from && now.minute < w.to && opensOn(schedule, w, now.weekday, now.date)) return true;
    } else {
      // Past midnight: the evening part belongs to today's window, the morning part to yesterday's.
      if (now.minute >= w.from && opensOn(schedule, w, now.weekday, now.date)) return true;
      if (now.minute < w.to && opensOn(schedule, w, (now.weekday + 6) % 7, dayBefore(now.date))) return true;
    }
  }
  return false;
}

/**
 * An RRULE's dates in a year, computed once per rule and year (iterating a rule from its start
 * costs milliseconds; a fix must not): the rule runs on floating dates, its occurrences' UTC
 * fields being the local dates.
 */
const ruleYears = new Map<string, Set<string>>();
const MAX_RULE_YEARS = 10_000;

function ruleDates(text: string, year: number): ReadonlySet<string> {
  const key = `${year}\u0000${text}`;
  let dates = ruleYears.get(key);
  if (dates === undefined) {
    const rule = dateRule(text);
    const occurrences = typeof rule === 'string' ? [] : rule.between(new Date(Date.UTC(year, 0, 1)), new Date(Date.UTC(year + 1, 0, 1) - 1), true);
    dates = new Set(occurrences.map((d) => d.toISOString().slice(0, 10)));
    if (ruleYears.size >= MAX_RULE_YEARS) ruleYears.clear();
    ruleYears.set(key, dates);
  }
  return dates;
}

/** Where a rule without DTSTART starts: it may not then depend on its start (dateRule). */
const DEFAULT_RULE_START = Date.UTC(2000, 0, 1);
const LIST = (item: string) => new RegExp(`^${item}(,${item})*$`);
/** The RRULE parts a schedule takes, each with the form of its value: the rule picks dates, the windows give the times. */
const RULE_PARTS: Record<string, RegExp> = {
  FREQ: /^(DAILY|WEEKLY|MONTHLY|YEARLY)$/,
  INTERVAL: /^[1-9]\d{0,3}$/,
  COUNT: /^[1-9]\d{0,4}$/,
  UNTIL: /^\d{8}(T\d{6}Z?)?$/,
  WKST: /^(MO|TU|WE|TH|FR|SA|SU)$/,
  BYDAY: LIST('([+-]?[1-9]\\d?)?(MO|TU|WE|TH|FR|SA|SU)'),
  BYMONTH: LIST('([1-9]|1[0-2])'),
  BYMONTHDAY: LIST('[+-]?([1-9]|[12]\\d|3[01])'),
  BYYEARDAY: LIST('[+-]?[1-9]\\d{0,2}'),
  BYWEEKNO: LIST('[+-]?[1-9]\\d?'),
  BYSETPOS: LIST('[+-]?[1-9]\\d{0,2}'),
};
/** Parts that fix the dates without the rule's start: a rule without DTSTART needs one (or FREQ=DAILY). */
const DAY_PARTS = ['BYDAY', 'BYMONTHDAY', 'BYYEARDAY'];

/** The rule of an `rrule` text, or what is wrong with it. */
function dateRule(text: string): InstanceType<typeof RRule> | string {
  let start: number | null = null;
  let body: string | null = null;
  for (const line of text.trim().split(/\r?\n/)) {
    const dtstart = /^DTSTART:(\d{4})(\d{2})(\d{2})$/.exec(line.trim());
    if (dtstart !== null) start = Date.UTC(Number(dtstart[1]), Number(dtstart[2]) - 1, Number(dtstart[3]));
    else if (body === null) body = line.trim().replace(/^RRULE:/, '');
    else return `has a line it does not take: ${JSON.stringify(line.slice(0, 40))} (only DTSTART:YYYYMMDD and one RRULE)`;
  }
  if (body === null || body === '') return 'has no RRULE';
  const parts = new Map<string, string>();
  for (const part of body.split(';')) {
    const [name = '', value = ''] = part.split('=');
    const form = RULE_PARTS[name];
    if (form === undefined) return `has ${JSON.stringify(name.slice(0, 20))}, which a schedule does not take (the rule picks dates: ${Object.keys(RULE_PARTS).join(', ')}; the windows give the times)`;
    if (!form.test(value)) return `has ${name}=${JSON.stringify(value.slice(0, 40))}, which is not a valid ${name}${name === 'FREQ' ? ' for a schedule (DAILY, WEEKLY, MONTHLY or YEARLY: the rule picks dates)' : ''}`;
    parts.set(name, value);
  }
  if (!parts.has('FREQ')) return 'needs FREQ';
  if (start === null && (parts.has('COUNT') || (parts.get('INTERVAL') ?? '1') !== '1' || (parts.get('FREQ') !== 'DAILY' && !DAY_PARTS.some((p) => parts.has(p))))) {
    return 'depends on where it starts (COUNT, INTERVAL, or no BYDAY, BYMONTHDAY or BYYEARDAY to pick the days): give its first date as a DTSTART:YYYYMMDD line';
  }
  return new RRule({ ...RRule.parseString(body), dtstart: new Date(start ?? DEFAULT_RULE_START) });
}

const minutes = (hhmm: string): number => (hhmm === '24:00' ? 1440 : Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3)));

/** properties.schedule checked, or a message naming what is wrong with it. */
export function parseSchedule(value: unknown): Schedule | string {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return 'properties.schedule must be an object such as {"timezone": "Europe/Vienna", "windows": [{"days": ["mon"], "from": "07:00", "to": "19:00"}]}';
  const { timezone, windows, except, rrule, ...rest } = value as Record<string, unknown>;
  const unknown = Object.keys(rest);
  if (unknown.length > 0) return `properties.schedule has an unknown member ${unknown[0]}`;
  if (typeof timezone !== 'string') return 'properties.schedule.timezone must be an IANA time zone name such as "Europe/Vienna"';
  try {
    formatter(timezone);
  } catch {
    return `properties.schedule.timezone ${JSON.stringify(timezone).slice(0, 60)} is not a time zone of the IANA database`;
  }
  if (!Array.isArray(windows) || windows.length === 0 || windows.length > MAX_WINDOWS) return `properties.schedule.windows must be an array of 1 to ${MAX_WINDOWS} windows`;
  const parsed: ScheduleWindow[] = [];
  for (const [i, w] of windows.entries()) {
    const where = `properties.schedule.windows[${i}]`;
    const { days, from, to } = (w ?? {}) as { days?: unknown; from?: unknown; to?: unknown };
    if (!Array.isArray(days) || days.length === 0 || !days.every((d) => (DAYS as readonly unknown[]).includes(d))) return `${where}.days must be a non-empty array of ${DAYS.join(', ')}`;
    if (typeof from !== 'string' || !HH_MM.test(from) || from === '24:00') return `${where}.from must be a local time HH:MM (00:00 to 23:59)`;
    if (typeof to !== 'string' || !HH_MM.test(to)) return `${where}.to must be a local time HH:MM (00:00 to 24:00)`;
    if (from === to) return `${where} opens and closes at ${from}: give a window of some length`;
    parsed.push({ days: new Set(days.map((d) => DAYS.indexOf(d as (typeof DAYS)[number]))), from: minutes(from), to: minutes(to) });
  }
  const dates = except ?? [];
  if (!Array.isArray(dates) || dates.length > MAX_EXCEPTIONS || !dates.every((d) => typeof d === 'string' && DATE.test(d) && !Number.isNaN(Date.parse(d)))) {
    return `properties.schedule.except must be an array of at most ${MAX_EXCEPTIONS} local dates YYYY-MM-DD`;
  }
  const rrules = rrule === undefined || rrule === null ? [] : typeof rrule === 'string' ? [rrule] : rrule;
  if (!Array.isArray(rrules) || rrules.length > MAX_RULES || !rrules.every((r) => typeof r === 'string' && r.length <= MAX_RULE_LENGTH)) {
    return `properties.schedule.rrule must be an iCalendar RRULE, or an array of at most ${MAX_RULES}, each of at most ${MAX_RULE_LENGTH} characters, such as "FREQ=MONTHLY;BYDAY=1MO"`;
  }
  for (const [i, text] of (rrules as string[]).entries()) {
    const rule = dateRule(text);
    if (typeof rule === 'string') return `properties.schedule.rrule${typeof rrule === 'string' ? '' : `[${i}]`} ${rule}`;
  }
  return { timezone, windows: parsed, rrules: rrules as string[], except: new Set(dates as string[]) };
}
