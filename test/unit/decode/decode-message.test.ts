import { pack } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { signCommand } from '../../../src/core/command-signature.js';
import { decodeTelemetryMessage, MAX_MESSAGE_BYTES } from '../../../src/decode/message.js';
import { REJECTION_CODES, type RejectionCode } from '../../../src/decode/rejection.js';

const NOW = Date.parse('2026-11-22T08:00:00Z');
const LAYOUT = { prefix: 'telemetry.', partitions: 1 };
const SUBJECT = 'telemetry.acme.veh-42';
const good = { ts: NOW - 1000, lat: 52.52, lon: 13.405 };

function json(value: unknown): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(value));
}

const KEY = 'test-command-key';

/** `command`, signed for the subject's device unless `signature` is given (null: none). */
function decode(data: Uint8Array, subject = SUBJECT, contentType?: string, command?: string, signature: string | null = signCommand(KEY, 'acme', 'veh-42', command ?? '', data)) {
  const signed = signature ?? undefined;
  return decodeTelemetryMessage(subject, LAYOUT, data, contentType, NOW, command === undefined ? undefined : { name: command, signature: signed, key: KEY });
}

describe('decode - accepted reports', () => {
  it('decodes a MessagePack report with every field', () => {
    const report = {
      ...good, device_id: 'veh-42', speed: 12.5, heading: 359.5, altitude: 34, accuracy: 4.2, satellites: 9,
      ignition: true, odometer: 1234.5, attributes: { temperature: 4.5, door: 'closed', reefer: true },
      driver_id: 'drv-7', posted_speed_limit: 50,
    };
    const out = decode(pack(report));
    expect(out.encoding).toBe('msgpack');
    expect(out.rejected).toEqual([]);
    expect(out.fixes).toEqual([{
      tenantId: 'acme', deviceId: 'veh-42', ts: good.ts, lat: 52.52, lon: 13.405, speed: 12.5, heading: 359.5,
      altitude: 34, accuracy: 4.2, satellites: 9, ignition: true, odometer: 1234.5,
      attributes: { temperature: 4.5, door: 'closed', reefer: true }, driverId: 'drv-7', postedSpeedLimit: 50,
    }]);
  });

  it('tells a report without driver_id (nothing said) from one with null (no driver)', () => {
    const out = decode(json([good, { ...good, ts: good.ts + 1, driver_id: null }]));
    expect(out.fixes.map((f) => f.driverId)).toEqual([undefined, null]);
    expect(out.fixes[0]?.postedSpeedLimit).toBeNull();
  });

  it('decodes a dispatcher command instead of reports when the command header is set', () => {
    const out = decode(json({ driver_id: 'anna' }), SUBJECT, undefined, 'assign-driver');
    expect(out).toMatchObject({ fixes: [], rejected: [], assignment: { tenantId: 'acme', deviceId: 'veh-42', driverId: 'anna' } });
    expect(decode(json({ driver_id: null }), SUBJECT, undefined, 'assign-driver').assignment?.driverId).toBeNull();
  });

  it('decodes a set-tags command into the device\'s new tags', () => {
    expect(decode(json({ tags: ['reefer', 'north'] }), SUBJECT, undefined, 'set-tags').tagging).toEqual({ tenantId: 'acme', deviceId: 'veh-42', tags: ['reefer', 'north'] });
    expect(decode(json({ tags: [] }), SUBJECT, undefined, 'set-tags').tagging?.tags).toEqual([]);
    expect(decode(json({ route_id: 'school-run' }), SUBJECT, undefined, 'assign-route').routing).toEqual({ tenantId: 'acme', deviceId: 'veh-42', routeId: 'school-run' });
    expect(decode(json({ route_id: null }), SUBJECT, undefined, 'assign-route').routing?.routeId).toBeNull();
  });

  it('refuses a command without its signature, or with another device\'s, or for another payload', () => {
    const data = json({ driver_id: 'anna' });
    const code = (out: ReturnType<typeof decode>) => out.rejected[0]?.rejection.code;
    expect(code(decode(data, SUBJECT, undefined, 'assign-driver', null))).toBe('forged_command');
    expect(code(decode(data, SUBJECT, undefined, 'assign-driver', signCommand(KEY, 'acme', 'veh-43', 'assign-driver', data)))).toBe('forged_command');
    expect(code(decode(data, SUBJECT, undefined, 'assign-driver', signCommand(KEY, 'acme', 'veh-42', 'assign-driver', json({ driver_id: 'bob' }))))).toBe('forged_command');
    expect(code(decode(data, SUBJECT, undefined, 'assign-driver', signCommand('another-key', 'acme', 'veh-42', 'assign-driver', data)))).toBe('forged_command');
  });

  it('decodes a JSON array with RFC 3339 timestamps and leaves absent fields null', () => {
    const out = decode(json([{ ts: '2026-11-22T07:59:00.250Z', lat: 1, lon: 2 }, { ts: '2026-11-22T08:59:00+01:00', lat: -1, lon: -2 }]));
    expect(out.encoding).toBe('json');
    expect(out.fixes.map((f) => f.ts)).toEqual([Date.parse('2026-11-22T07:59:00.250Z'), Date.parse('2026-11-22T07:59:00Z')]);
    expect(out.fixes[0]?.speed).toBeNull();
    expect(out.fixes[0]?.attributes).toBeNull();
  });

  it('treats a payload as JSON when the Content-Type header says so, even with leading space', () => {
    const out = decode(new TextEncoder().encode(` ${JSON.stringify(good)}`), SUBJECT, 'application/json; charset=utf-8');
    expect(out.encoding).toBe('json');
    expect(out.fixes).toHaveLength(1);
  });

  it('accepts text with every other character, the extremes of a 32-bit float, and 0', () => {
    const out = decode(json({ ...good, speed: 3.4e38, altitude: -1.5e-45, accuracy: 0, attributes: { note: 'Landstraße 😀 \u0001\ufffd' } }));
    expect(out.rejected).toEqual([]);
    expect(out.fixes[0]?.attributes).toEqual({ note: 'Landstraße 😀 \u0001\ufffd' });
  });

  it('accepts a fix up to 5 minutes ahead of the clock and ignores unknown fields', () => {
    const out = decode(json({ ...good, ts: NOW + 5 * 60 * 1000, vendor_extra: [1, 2] }));
    expect(out.rejected).toEqual([]);
    expect(out.fixes).toHaveLength(1);
  });

  it('rejects only the bad report inside an array', () => {
    const out = decode(pack([good, { ...good, lat: 91 }, { ...good, ts: good.ts + 1 }]));
    expect(out.fixes.map((f) => f.ts)).toEqual([good.ts, good.ts + 1]);
    expect(out.rejected).toEqual([{ index: 1, report: { ...good, lat: 91 }, rejection: expect.objectContaining({ code: 'coordinates_out_of_range' }) }]);
  });
});

// One row per rejection code; the test below checks that the table covers every code.
const rejections: { code: RejectionCode; data: Uint8Array; subject?: string; contentType?: string; command?: string; signature?: string; message: RegExp }[] = [
  { code: 'forged_command', data: json({ driver_id: 'anna' }), command: 'assign-driver', signature: 'f'.repeat(64), message: /carries no valid Fencewire-Command-Signature: commands come from fencewire's API/ },
  { code: 'unknown_command', data: json({}), command: 'reboot', message: /"reboot" is not a command; the ones there are are assign-driver, set-tags, assign-route, inbound-dvir/ },
  { code: 'invalid_field', data: json({ tags: ['reefer', 'not a token'] }), command: 'set-tags', message: /set-tags needs \{"tags": at most 32 tokens/ },
  { code: 'invalid_field', data: json({ tags: Array.from({ length: 33 }, (_, i) => `t${i}`) }), command: 'set-tags', message: /at most 32 tokens/ },
  { code: 'invalid_field', data: json({ driver_id: 'anna maria' }), command: 'assign-driver', message: /needs \{"driver_id": a token/ },
  { code: 'invalid_field', data: json({ route_id: 7 }), command: 'assign-route', message: /assign-route needs \{"route_id": a token/ },
  { code: 'malformed_payload', data: json('x').slice(0, 2), command: 'assign-driver', message: /assign-driver payload is not valid JSON/ },
  { code: 'invalid_field', data: json({ ...good, driver_id: 42 }), message: /driver_id is 42; it must be 1-64 characters/ },
  { code: 'invalid_field', data: json({ ...good, posted_speed_limit: 0 }), message: /posted_speed_limit 0 must be greater than 0/ },
  { code: 'invalid_subject', data: json(good), subject: 'telemetry.acme', message: /must be telemetry\.<tenant>\.<device>/ },
  { code: 'invalid_subject', data: json(good), subject: 'telemetry.acme.veh 42', message: /device token "veh 42"/ },
  { code: 'message_too_large', data: new Uint8Array(MAX_MESSAGE_BYTES + 1).fill(0x7b), message: /65537 bytes; the limit is 65536/ },
  { code: 'malformed_payload', data: new TextEncoder().encode('{"ts": 1,'), message: /not valid JSON/ },
  { code: 'malformed_payload', data: new Uint8Array([0x81]), message: /not valid MessagePack/ },
  { code: 'malformed_payload', data: new TextEncoder().encode('garbage!!'), message: /expected one MessagePack value, found 9/ },
  { code: 'not_a_report', data: json('hello'), contentType: 'application/json', message: /must be a map of fields, got "hello"/ },
  { code: 'not_a_report', data: new Uint8Array([0xc1]), message: /must be a map of fields/ },
  { code: 'empty_batch', data: json([]), message: /empty array/ },
  { code: 'batch_too_large', data: pack(Array.from({ length: 1001 }, () => 1)), message: /1001 reports; the limit is 1000/ },
  { code: 'missing_field', data: json({ lat: 1, lon: 2 }), message: /ts is required/ },
  { code: 'missing_field', data: json({ ts: good.ts, lon: 2 }), message: /lat is required/ },
  { code: 'invalid_field', data: json({ ...good, lat: '52.5' }), message: /lat is "52.5"; it must be a number/ },
  { code: 'invalid_field', data: json({ ...good, speed: -3 }), message: /speed -3 is out of range \[0, inf\]/ },
  { code: 'invalid_field', data: json({ ...good, heading: 361 }), message: /heading 361 is out of range \[0, 360\]/ },
  { code: 'invalid_field', data: json({ ...good, satellites: 4.5 }), message: /satellites 4.5 must be a whole number/ },
  { code: 'invalid_field', data: json({ ...good, ignition: 'on' }), message: /ignition is "on"; it must be true or false/ },
  { code: 'invalid_field', data: json({ ...good, attributes: { a: [1] } }), message: /attributes.a is an array/ },
  { code: 'invalid_timestamp', data: json({ ...good, ts: 'yesterday' }), message: /not an RFC 3339 date-time/ },
  { code: 'invalid_timestamp', data: json({ ...good, ts: 1.5 }), message: /whole number of epoch milliseconds/ },
  { code: 'timestamp_in_future', data: json({ ...good, ts: NOW + 5 * 60 * 1000 + 1 }), message: /more than 5 minutes ahead/ },
  { code: 'coordinates_not_finite', data: pack({ ...good, lon: Number.NaN }), message: /lon is NaN/ },
  { code: 'coordinates_not_finite', data: pack({ ...good, lat: Number.POSITIVE_INFINITY }), message: /lat is Infinity/ },
  { code: 'coordinates_out_of_range', data: json({ ...good, lon: -180.5 }), message: /lon -180.5 is out of range \[-180, 180\]/ },
  { code: 'null_island', data: json({ ...good, lat: 0, lon: 0 }), message: /exactly \(0, 0\)/ },
  { code: 'device_mismatch', data: json({ ...good, device_id: 'veh-43' }), message: /"veh-43" does not match the subject's device "veh-42"/ },
  { code: 'invalid_text', data: json({ ...good, attributes: { note: 'a\u0000b' } }), message: /attributes.note contains a NUL character/ },
  { code: 'invalid_text', data: json({ ...good, attributes: { note: 'x\ud800' } }), message: /attributes.note contains a lone UTF-16 surrogate/ },
  { code: 'invalid_text', data: pack({ ...good, attributes: { 'k\u0000': 1 } }), message: /an attribute name contains a NUL character/ },
  { code: 'invalid_text', data: new TextEncoder().encode(`{"ts":${good.ts},"lat":1,"lon":2,"attributes":{"\\udc00":true}}`), message: /an attribute name contains a lone UTF-16 surrogate/ },
  { code: 'invalid_field', data: json({ ...good, speed: 1e39 }), message: /speed 1e\+39 does not fit a 32-bit float/ },
  { code: 'invalid_field', data: json({ ...good, altitude: -1e-50 }), message: /altitude -1e-50 does not fit a 32-bit float/ },
  {
    code: 'too_many_attributes',
    data: json({ ...good, attributes: Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, i])) }),
    message: /33 keys; at most 32/,
  },
];

describe('decode - rejections', () => {
  it.each(rejections)('$code: $message', ({ code, data, subject, contentType, command, signature, message }) => {
    const out = decode(data, subject, contentType, command, signature);
    expect(out.fixes).toEqual([]);
    expect(out.rejected).toHaveLength(1);
    expect(out.rejected[0]?.rejection.code).toBe(code);
    expect(out.rejected[0]?.rejection.message).toMatch(message);
  });

  it('covers every rejection code but those the store and the events stream give (their own tests pin them)', () => {
    const elsewhere = new Set<RejectionCode>(['unstorable', 'not_an_envelope', 'envelope_mismatch']);
    expect(new Set(rejections.map((r) => r.code))).toEqual(new Set(REJECTION_CODES.filter((code) => !elsewhere.has(code))));
  });

  it('keeps the tenant of a refused message so that it can be dead-lettered per tenant', () => {
    expect(decode(json({})).tenantId).toBe('acme');
    expect(decode(json(good), 'telemetry.a.b.c').tenantId).toBeNull();
  });
});
