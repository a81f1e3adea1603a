import { describe, expect, it } from 'vitest';
import type { Fix } from '../../../src/core/fix.js';
import { positionsCopyText } from '../../../src/store/copy-text.js';

const base: Fix = {
  tenantId: 'acme', deviceId: 'veh-1', ts: Date.parse('2026-11-22T08:00:05.007Z'), lat: 48.1, lon: -11.5, speed: null, heading: 90,
  altitude: null, accuracy: 2.5, satellites: 7, ignition: true, odometer: null, attributes: null,
};

describe('COPY text of fixes', () => {
  it('writes one tab-separated line per fix, \\N for nulls, the time with its milliseconds', () => {
    expect(positionsCopyText([base, { ...base, ts: base.ts + 993, ignition: false }])).toBe(
      'acme\tveh-1\t2026-11-22T08:00:05.007Z\t48.1\t-11.5\t\\N\t90\t\\N\t2.5\t7\tt\t\\N\t\\N\n'
      + 'acme\tveh-1\t2026-11-22T08:00:06.000Z\t48.1\t-11.5\t\\N\t90\t\\N\t2.5\t7\tf\t\\N\t\\N\n');
  });

  it('doubles the backslashes of attribute JSON, whose own escapes keep tabs and line breaks out', () => {
    const text = positionsCopyText([{ ...base, attributes: { note: 'a\tb\\c\n', temperature: 4.5 } }]);
    expect(text.endsWith('\t{"note":"a\\\\tb\\\\\\\\c\\\\n","temperature":4.5}\n')).toBe(true);
    expect(text.split('\n').length).toBe(2);
  });
});
