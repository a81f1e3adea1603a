import { headers as natsHeaders } from '@nats-io/transport-node';
import { pack, unpack } from 'msgpackr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_FUTURE_MS } from '../../src/decode/report.js';
import type { RunningServer } from '../../src/server.js';
import { countPositions, disposeWithServer, jsonBytes, setupWithServer, waitFor, type TestEnv } from '../support/setup.js';

let world: TestEnv;
let server: RunningServer;
const encoder = new TextEncoder();
const good = (ts: number) => ({ ts, lat: 48.1, lon: 11.5 });

interface DeadLetter {
  subject: string;
  data: Uint8Array;
  code: string;
  error: string;
  index: string | null;
  original: string;
  truncatedFrom: string | null;
}

async function deadLetters(): Promise<DeadLetter[]> {
  const info = await world.jsm.streams.info(world.topology.dlqStream);
  const letters: DeadLetter[] = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
    const msg = await world.jsm.streams.getMessage(world.topology.dlqStream, { seq });
    if (!msg) continue;
    letters.push({
      subject: msg.subject,
      data: msg.data,
      code: msg.header.get('Fencewire-Error-Code'),
      error: msg.header.get('Fencewire-Error'),
      index: msg.header.get('Fencewire-Report-Index') || null,
      original: msg.header.get('Fencewire-Original-Subject'),
      truncatedFrom: msg.header.get('Fencewire-Truncated-From') || null,
    });
  }
  return letters;
}

async function dlqCount(): Promise<number> {
  return (await world.jsm.streams.info(world.topology.dlqStream)).state.messages;
}

beforeAll(async () => {
  ({ world, server } = await setupWithServer());
});

afterAll(() => disposeWithServer(world, server));

describe('dead letters - bad input is refused with a reason and loses nothing else', () => {
  const now = Date.now();

  it('sends every kind of whole-message rejection to dlq.telemetry.<tenant> unchanged, with its headers', async () => {
    const cases: { device: string; payload: Uint8Array; code: string }[] = [
      { device: 'big', payload: new Uint8Array(64 * 1024 + 1).fill(0x20), code: 'message_too_large' },
      { device: 'garbage', payload: Uint8Array.from([0xc1, 0xff, 0x00, 0x13]), code: 'malformed_payload' },
      { device: 'bad-json', payload: encoder.encode('{"ts": 1, "lat":'), code: 'malformed_payload' },
      { device: 'string', payload: pack('hello'), code: 'not_a_report' },
      { device: 'empty', payload: jsonBytes([]), code: 'empty_batch' },
      { device: 'huge-array', payload: pack(Array.from({ length: 1001 }, (_, i) => good(now - i))), code: 'batch_too_large' },
      { device: 'no-ts', payload: jsonBytes({ lat: 1, lon: 1 }), code: 'missing_field' },
      { device: 'str-speed', payload: jsonBytes({ ...good(now), speed: 'fast' }), code: 'invalid_field' },
      { device: 'bad-ts', payload: jsonBytes({ ...good(now), ts: 'noon' }), code: 'invalid_timestamp' },
      { device: 'future', payload: jsonBytes({ ...good(now + MAX_FUTURE_MS + 60_000) }), code: 'timestamp_in_future' },
      { device: 'nan', payload: pack({ ...good(now), lat: Number.NaN }), code: 'coordinates_not_finite' },
      { device: 'far', payload: jsonBytes({ ...good(now), lat: 123.4 }), code: 'coordinates_out_of_range' },
      { device: 'island', payload: jsonBytes({ ts: now, lat: 0, lon: 0 }), code: 'null_island' },
      { device: 'other', payload: jsonBytes({ ...good(now), device_id: 'someone-else' }), code: 'device_mismatch' },
      {
        device: 'attrs',
        payload: jsonBytes({ ...good(now), attributes: Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`a${i}`, i])) }),
        code: 'too_many_attributes',
      },
    ];
    for (const c of cases) await world.publish('badco', c.device, c.payload);
    // A subject with a third token: still captured by telemetry.>, refused as unroutable.
    await world.js.publish(`${world.topology.telemetryPrefix}badco.a.b`, jsonBytes(good(now)));
    await waitFor('all dead letters', async () => (await dlqCount()) === cases.length + 1);

    const letters = await deadLetters();
    for (const c of cases) {
      const letter = letters.find((l) => l.original === `${world.topology.telemetryPrefix}badco.${c.device}`);
      expect(letter, c.device).toBeDefined();
      expect(letter?.code, c.device).toBe(c.code);
      expect(letter?.subject).toBe(`${world.topology.dlqPrefix}badco`);
      expect(letter?.error.length, c.device).toBeGreaterThan(10);
      expect(Buffer.from(letter?.data ?? []).equals(Buffer.from(c.payload)), `${c.device} payload unchanged`).toBe(true);
    }
    const unroutable = letters.find((l) => l.original.endsWith('badco.a.b'));
    expect(unroutable).toMatchObject({ code: 'invalid_subject', subject: `${world.topology.dlqPrefix}_unroutable` });
    expect(await countPositions(world.db, `tenant_id = 'badco'`)).toBe(0);
  });

  it('rejects only the bad reports of an array and stores the good ones', async () => {
    const before = await dlqCount();
    const reports = [good(now - 5000), { ...good(now - 4000), lat: 95 }, good(now - 3000), { ts: now - 2000, lat: 0, lon: 0 }, good(now - 1000)];
    await world.publish('mixed', 'gw-1', pack(reports));
    await waitFor('good fixes of the array', async () => (await countPositions(world.db, `tenant_id = 'mixed'`)) === 3);
    await waitFor('two dead letters', async () => (await dlqCount()) === before + 2);
    const letters = (await deadLetters()).filter((l) => l.subject.endsWith('.mixed'));
    expect(letters.map((l) => [l.index, l.code])).toEqual([['1', 'coordinates_out_of_range'], ['3', 'null_island']]);
    expect(unpack(letters[0]?.data as Uint8Array)).toEqual(reports[1]);
    expect(letters[1]?.error).toMatch(/\(0, 0\)/);
  });

  it('keeps dead letters small whatever headers the device sends: 100 refused reports with 60 KiB of headers each add under 40 KiB', async () => {
    const before = await world.jsm.streams.info(world.topology.dlqStream);
    const h = natsHeaders();
    h.set('Content-Type', 'application/json');
    for (let i = 0; i < 60; i++) h.set(`X-Vendor-${i}`, 'v'.repeat(1000));
    for (let i = 0; i < 100; i++) await world.js.publish(`${world.topology.telemetryPrefix}loud.dev-${i}`, jsonBytes({ ts: now, lat: 95, lon: 1 }), { headers: h });
    await waitFor('100 dead letters', async () => (await dlqCount()) === before.state.messages + 100);
    const after = await world.jsm.streams.info(world.topology.dlqStream);
    expect(after.state.bytes - before.state.bytes).toBeLessThan(40 * 1024);
    const letter = (await deadLetters()).find((l) => l.original.endsWith('loud.dev-0'));
    expect(letter?.code).toBe('coordinates_out_of_range');
  });

  it('survives garbage, a 1 MiB message, NaN and out-of-range values between good fixes', async () => {
    const hostile = [
      Uint8Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256),
      new Uint8Array(1024 * 1024).fill(0x91),
      pack({ ts: now, lat: Number.POSITIVE_INFINITY, lon: Number.NaN }),
      jsonBytes({ ts: now, lat: -91, lon: 181 }),
      pack([{ ts: now, lat: Number.NaN, lon: 1 }]),
    ];
    let ts = now - 100_000;
    for (const payload of hostile) {
      await world.publish('hostile', 'dev', pack(good(ts++)));
      await world.publish('hostile', 'dev', payload);
    }
    await world.publish('hostile', 'dev', pack(good(ts)));
    await waitFor('the good fixes around the bad ones', async () => (await countPositions(world.db, `tenant_id = 'hostile'`)) === hostile.length + 1);
    await waitFor('the bad ones dead-lettered', async () => (await deadLetters()).filter((l) => l.subject.endsWith('.hostile')).length === hostile.length);

    const rejected = await (await fetch(`http://127.0.0.1:${server.httpPort}/metrics`)).text();
    expect(rejected).toMatch(/fencewire_fixes_rejected_total\{code="message_too_large"\} 2/);
    // 1 MiB plus the error headers would not fit NATS's max_payload: the copy is cut, and says so.
    const mib = (await deadLetters()).find((l) => l.subject.endsWith('.hostile') && l.code === 'message_too_large');
    expect(mib?.truncatedFrom).toBe(String(1024 * 1024));
    expect(Buffer.from(mib?.data ?? []).equals(Buffer.from(hostile[1] as Uint8Array).subarray(0, mib?.data.length))).toBe(true);
    const health = await fetch(`http://127.0.0.1:${server.httpPort}/api/integration/health`);
    expect(health.status).toBe(200);
  });
});
