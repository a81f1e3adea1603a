import fc from 'fast-check';
import { pack } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { unstorableText } from '../../../src/core/storable-text.js';
import { decodeTelemetryMessage } from '../../../src/decode/message.js';
import { REJECTION_CODES } from '../../../src/decode/rejection.js';
import { anyReport } from '../../support/report-arbitrary.js';

const NOW = Date.parse('2026-11-22T08:00:00Z');
const LAYOUT = { prefix: 'telemetry.', partitions: 1 };
const fitsReal = (value: number | null) => value === null || (Number.isFinite(Math.fround(value)) && (value === 0 || Math.fround(value) !== 0));

describe('decode - fuzzed reports (fast-check)', () => {
  it('never throws; every report becomes a fix PostgreSQL can store or a rejection with a known code', () => {
    let accepted = 0;
    let withAttributes = 0;
    fc.assert(fc.property(fc.array(anyReport(NOW), { minLength: 1, maxLength: 8 }), fc.boolean(), (reports, asJson) => {
      const data = asJson ? new TextEncoder().encode(JSON.stringify(reports)) : pack(reports);
      const out = decodeTelemetryMessage('telemetry.acme.veh-1', LAYOUT, data, undefined, NOW);
      expect(out.fixes.length + out.rejected.length).toBe(reports.length);
      for (const refused of out.rejected) expect(REJECTION_CODES).toContain(refused.rejection.code);
      accepted += out.fixes.length;
      for (const fix of out.fixes) {
        if (fix.attributes !== null) withAttributes++;
        for (const value of [fix.speed, fix.heading, fix.altitude, fix.accuracy]) expect(fitsReal(value)).toBe(true);
        for (const [key, value] of Object.entries(fix.attributes ?? {})) {
          expect(unstorableText(key)).toBeNull();
          if (typeof value === 'string') expect(unstorableText(value)).toBeNull();
        }
      }
    }), { numRuns: 2000, seed: 16 });
    // The property said something: many reports got through, many with attributes.
    expect(accepted).toBeGreaterThan(200);
    expect(withAttributes).toBeGreaterThan(50);
  });
});
