import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The real data the tests use (`fixtures/`, see its README for sources and licences). */
export const FIXTURES = fileURLToPath(new URL('../../fixtures/', import.meta.url));

export interface DriveFix {
  readonly ts: number;
  readonly lat: number;
  readonly lon: number;
}

/** A recorded drive: `{"point":"POINT(lon lat)","time":"YYYY-MM-DD hh:mm:ss+0200"}` per fix. */
export function loadDrive(file: string): DriveFix[] {
  const rows = JSON.parse(readFileSync(`${FIXTURES}${file}`, 'utf8')) as { point: string; time: string }[];
  return rows.map((row) => {
    const [lon, lat] = /POINT\(([-\d.]+) ([-\d.]+)\)/.exec(row.point)?.slice(1).map(Number) as [number, number];
    const [date, time, offset] = [row.time.slice(0, 10), row.time.slice(11, 19), row.time.slice(19)];
    return { ts: Date.parse(`${date}T${time}${offset.slice(0, 3)}:${offset.slice(3)}`), lat, lon };
  });
}

/**
 * The Munich drive moved onto San Francisco, so that it runs through the real neighbourhood
 * polygons we have: every fix shifted by the same offset, centred on `centre`. Its times are
 * moved to start at `startAt` too: recorded in 2014, the fixes would otherwise be older than
 * the retention period and dropped by the storage policy.
 */
export function driveThrough(fixes: DriveFix[], reference: DriveFix[], centre: { lat: number; lon: number }, startAt: number): DriveFix[] {
  const lat0 = reference.reduce((s, f) => s + f.lat, 0) / reference.length;
  const lon0 = reference.reduce((s, f) => s + f.lon, 0) / reference.length;
  const t0 = (reference[0] as DriveFix).ts;
  return fixes.map((f) => ({ ts: f.ts - t0 + startAt, lat: f.lat - lat0 + centre.lat, lon: f.lon - lon0 + centre.lon }));
}

export function loadFeatureCollection(file: string): { type: 'FeatureCollection'; features: { properties: Record<string, unknown>; geometry: unknown }[] } {
  return JSON.parse(readFileSync(`${FIXTURES}${file}`, 'utf8'));
}
