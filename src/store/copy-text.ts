import type { Fix } from '../core/fix.js';

/** A number in COPY text format, `\N` for null. */
function copyNumber(value: number | null): string {
  return value === null ? '\\N' : String(value);
}

/** ISO 8601 of a whole second, remembered: the fixes of a batch mostly share their seconds. */
const isoSeconds = new Map<number, string>();

/** A timestamptz in COPY text: the ISO string of the second (cached), then the milliseconds. */
function copyTimestamp(ms: number): string {
  const second = Math.floor(ms / 1000);
  let prefix = isoSeconds.get(second);
  if (prefix === undefined) {
    if (isoSeconds.size >= 4096) isoSeconds.clear();
    prefix = new Date(second * 1000).toISOString().slice(0, 19);
    isoSeconds.set(second, prefix);
  }
  return `${prefix}.${String(ms - second * 1000).padStart(3, '0')}Z`;
}

/**
 * The fixes as COPY text, one line each. Tenant and device ids are validated tokens of
 * [A-Za-z0-9_-] and need no escaping; JSON escapes its own control characters, so only its
 * backslashes are doubled.
 */
export function positionsCopyText(fixes: readonly Fix[]): string {
  const lines: string[] = new Array<string>(fixes.length);
  for (let i = 0; i < fixes.length; i++) {
    const f = fixes[i] as Fix;
    lines[i] = `${f.tenantId}\t${f.deviceId}\t${copyTimestamp(f.ts)}\t${f.lat}\t${f.lon}\t${copyNumber(f.speed)}\t${copyNumber(f.heading)}\t${copyNumber(f.altitude)}\t`
      + `${copyNumber(f.accuracy)}\t${copyNumber(f.satellites)}\t${f.ignition === null ? '\\N' : f.ignition ? 't' : 'f'}\t${copyNumber(f.odometer)}\t`
      + `${f.attributes === null ? '\\N' : JSON.stringify(f.attributes).replaceAll('\\', '\\\\')}\n`;
  }
  return lines.join('');
}
