/**
 * A geofence's schedule (properties.schedule): an IANA time zone and weekly windows of local
 * time, with exception dates. Local time comes from the time zone database through Intl, never
 * from a fixed offset, so daylight-saving changes fall where the zone's rules put them.
 */

const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
const HH_MM = /^([01]\d|2[0-3]):([0-5]\d)$|^24:00$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const MAX_WINDOWS = 64;
const MAX_EXCEPTIONS = 366;

export interface ScheduleWindow {
  /** Days the window opens on, 0 = Monday. */
  readonly days: ReadonlySet<number>;
  /** Minutes after local midnight; `to` at or before `from` runs past midnight into the next day. */
  readonly from: number;
  readonly to: number;
}

export interface Schedule {
  readonly timezone: string;
  readonly windows: readonly ScheduleWindow[];
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

/** True when the instant falls in one of the schedule's windows (local time, in its zone). */
export function inSchedule(schedule: Schedule, ts: number): boolean {
  const now = localTime(schedule.timezone, ts);
  for (const w of schedule.windows) {
    if (w.from < w.to) {
      if (w.days.has(now.weekday) && now.minute >= w.from && now.minute < w.to && !schedule.except.has(now.date)) return true;
    } else {
      // Past midnight: the evening part belongs to today's window, the morning part to yesterday's.
      if (w.days.has(now.weekday) && now.minute >= w.from && !schedule.except.has(now.date)) return true;
      if (w.days.has((now.weekday + 6) % 7) && now.minute < w.to && !schedule.except.has(dayBefore(now.date))) return true;
    }
  }
  return false;
}

const minutes = (hhmm: string): number => (hhmm === '24:00' ? 1440 : Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3)));

/** properties.schedule checked, or a message naming what is wrong with it. */
export function parseSchedule(value: unknown): Schedule | string {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return 'properties.schedule must be an object such as {"timezone": "Europe/Vienna", "windows": [{"days": ["mon"], "from": "07:00", "to": "19:00"}]}';
  const { timezone, windows, except, ...rest } = value as Record<string, unknown>;
  const unknown = Object.keys(rest);
  if (unknown.length > 0) return `properties.schedule has an unknown member ${unknown[0]} (rrule is not supported yet)`;
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
  return { timezone, windows: parsed, except: new Set(dates as string[]) };
}
