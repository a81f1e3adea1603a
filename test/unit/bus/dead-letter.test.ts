import { createHash } from 'node:crypto';
import { headers as natsHeaders } from '@nats-io/transport-node';
import { pack } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { deadLetter, headerBytes } from '../../../src/bus/dead-letter.js';
import { reject } from '../../../src/decode/rejection.js';

const MAX_PAYLOAD = 1024 * 1024;
const subject = 'telemetry.acme.veh-1';
const refusedWhole = { index: null, rejection: reject('message_too_large', 'the message has too many bytes'), report: null };

/** A device's headers: its own Content-Type and `count` others of `size` bytes each. */
function deviceHeaders(count: number, size: number) {
  const h = natsHeaders();
  h.set('Content-Type', 'application/json');
  for (let i = 0; i < count; i++) h.set(`X-Device-${i}`, 'v'.repeat(size));
  return h;
}

describe('dead letter - bounded whatever the device sends', () => {
  it('keeps only the Content-Type of the device\'s headers, beside the error headers and the message id', () => {
    const letter = deadLetter({ subject, data: new Uint8Array(10), headers: deviceHeaders(60, 1000) }, refusedWhole, 'json', MAX_PAYLOAD, '7-all');
    expect(letter.headers.keys().sort()).toEqual(['Content-Type', 'Fencewire-Error', 'Fencewire-Error-Code', 'Fencewire-Original-Subject', 'Nats-Msg-Id']);
    expect(letter.headers.get('Content-Type')).toBe('application/json');
    expect(headerBytes(letter.headers)).toBeLessThan(300);
  });

  it('drops a Content-Type too long to be one', () => {
    const h = natsHeaders();
    h.set('Content-Type', 'x'.repeat(4096));
    expect(deadLetter({ subject, data: new Uint8Array(1), headers: h }, refusedWhole, 'json', MAX_PAYLOAD).headers.has('Content-Type')).toBe(false);
  });

  it('cuts a payload that would not fit max_payload beside its headers to fit exactly, with the original length and hash', () => {
    const data = Uint8Array.from({ length: MAX_PAYLOAD - 100 }, (_, i) => i % 251);
    const letter = deadLetter({ subject, data, headers: deviceHeaders(4, 1024) }, refusedWhole, 'msgpack', MAX_PAYLOAD, '9-all');
    expect(headerBytes(letter.headers) + letter.payload.length).toBe(MAX_PAYLOAD);
    expect(letter.headers.get('Fencewire-Truncated-From')).toBe(String(data.length));
    expect(letter.headers.get('Fencewire-Payload-Sha256')).toBe(createHash('sha256').update(data).digest('hex'));
    expect(Buffer.from(letter.payload).equals(Buffer.from(data.subarray(0, letter.payload.length)))).toBe(true);
  });

  it('counts header bytes as NATS writes them', () => {
    const h = natsHeaders();
    h.set('A', 'bc');
    // NATS/1.0\r\n + "A: bc\r\n" + \r\n
    expect(headerBytes(h)).toBe(10 + 7 + 2);
  });

  it('carries one refused report of an array alone, in the message\'s encoding, uncut', () => {
    const report = { ts: 1, lat: 91, lon: 0 };
    const letter = deadLetter({ subject, data: pack([report, report]), headers: undefined }, { index: 1, rejection: reject('coordinates_out_of_range', 'lat 91'), report }, 'msgpack', MAX_PAYLOAD);
    expect(letter.payload).toEqual(pack(report));
    expect(letter.headers.get('Fencewire-Report-Index')).toBe('1');
    expect(letter.headers.has('Fencewire-Truncated-From')).toBe(false);
  });
});
