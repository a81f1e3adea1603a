import fc from 'fast-check';
import { pack } from 'msgpackr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Fix } from '../../src/core/fix.js';
import { decodeTelemetryMessage } from '../../src/decode/message.js';
import { UnstorableError } from '../../src/errors.js';
import { startServer } from '../../src/server.js';
import { PgBatchStore } from '../../src/store/batch-store.js';
import { PgPartitionStore } from '../../src/store/partition-store.js';
import { spawnFencewire } from './process.js';
import { anyReport } from '../support/report-arbitrary.js';
import { countPositions, jsonBytes, setup, silentLog, waitFor, type TestEnv } from '../support/setup.js';

let world: TestEnv;

beforeAll(async () => {
  world = await setup();
});

afterAll(() => world?.dispose());

const T0 = Date.now() - 60_000;

function fix(ts: number, attributes: Fix['attributes'] = null, speed: number | null = null): Fix {
  return {
    tenantId: 'probe', deviceId: 'veh-1', ts, lat: 48.1, lon: 11.5, speed, heading: null, altitude: null, accuracy: null,
    satellites: null, ignition: null, odometer: null, attributes, driverId: undefined, postedSpeedLimit: null,
  };
}

async function dlqCodes(): Promise<string[]> {
  const info = await world.jsm.streams.info(world.topology.dlqStream);
  const codes: string[] = [];
  for (let seq = info.state.first_seq; info.state.messages > 0 && seq <= info.state.last_seq; seq++) {
    const msg = await world.jsm.streams.getMessage(world.topology.dlqStream, { seq });
    if (msg) codes.push(msg.header.get('Fencewire-Error-Code'));
  }
  return codes;
}

describe('poison - a row PostgreSQL refuses never stops anyone', () => {
  it('store - a batch with text or numbers PostgreSQL refuses fails as unstorable, and the probe names exactly those rows, writing nothing', async () => {
    const store = new PgBatchStore(world.db);
    const claim = await new PgPartitionStore(world.db).claim(1, 0, 'poison-test');
    // What the decoder now refuses, built by hand as if it had not: PostgreSQL is the judge here.
    const fixes = [fix(T0), fix(T0 + 1, { note: 'a\u0000b' }), fix(T0 + 2), fix(T0 + 3, null, 1e39), fix(T0 + 4, { 'x\ud800': 1 }), fix(T0 + 5, null, 1e-50)];
    const write = store.writeBatches([{ hold: claim, lastSeq: 1, publishedSeq: 0, fixes, events: [] }]);
    await expect(write).rejects.toBeInstanceOf(UnstorableError);
    await expect(write).rejects.toThrow(/SQLSTATE 22/);
    // Past the COPY threshold the refusal is the same kind.
    const many = Array.from({ length: 400 }, (_, i) => fix(T0 + 100 + i, i === 250 ? { note: '\u0000' } : null));
    await expect(store.writeBatches([{ hold: claim, lastSeq: 1, publishedSeq: 0, fixes: many, events: [] }])).rejects.toBeInstanceOf(UnstorableError);

    const refused = await store.unstorable(fixes, []);
    expect(refused.fixes.map((row) => row.index)).toEqual([1, 3, 4, 5]);
    expect(refused.fixes[0]?.reason).toMatch(/unsupported Unicode escape sequence/);
    expect(refused.fixes[1]?.reason).toMatch(/out of range for type real/);
    expect((await store.unstorable(many, [])).fixes.map((row) => row.index)).toEqual([250]);
    expect(await countPositions(world.db)).toBe(0);
  });

  it('processor - poison reports in JSON and MessagePack, in values and keys, are dead-lettered; another tenant\'s fixes are stored within seconds, before and after a restart, and SIGTERM exits cleanly', async () => {
    const first = await spawnFencewire(world.env);
    await world.publish('evil', 'veh-1', jsonBytes([{ ts: T0, lat: 48, lon: 11, attributes: { note: 'a\u0000b' } }, { ts: T0 + 1, lat: 48, lon: 11 }]));
    await world.publish('evil', 'veh-2', pack({ ts: T0, lat: 48, lon: 11, attributes: { 'k\u0000': 1 } }));
    await world.publish('evil', 'veh-3', jsonBytes({ ts: T0, lat: 48, lon: 11, attributes: { note: 'x\ud800' } }));
    await world.publish('evil', 'veh-4', pack({ ts: T0, lat: 48, lon: 11, speed: 1e39 }));
    for (let i = 0; i < 50; i++) await world.publish('good', `veh-${i % 5}`, pack({ ts: T0 + i, lat: 48, lon: 11 }));
    await waitFor('the other tenant\'s fixes stored', async () => (await countPositions(world.db, "tenant_id = 'good'")) === 50, 10_000);
    await waitFor('four dead letters', async () => (await dlqCodes()).length === 4, 10_000);
    expect((await dlqCodes()).sort()).toEqual(['invalid_field', 'invalid_text', 'invalid_text', 'invalid_text']);
    expect(await countPositions(world.db, "tenant_id = 'evil'")).toBe(1);
    const stopping = Date.now();
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    expect(Date.now() - stopping).toBeLessThan(10_000);

    const second = await spawnFencewire(world.env);
    for (let i = 50; i < 100; i++) await world.publish('good', `veh-${i % 5}`, pack({ ts: T0 + i, lat: 48, lon: 11 }));
    await waitFor('the other tenant\'s fixes stored after the restart', async () => (await countPositions(world.db, "tenant_id = 'good'")) === 100, 10_000);
    expect(await dlqCodes()).toHaveLength(4);
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  });

  it('store - every fix the decoder accepts from fuzzed reports, PostgreSQL stores (fast-check)', async () => {
    const store = new PgBatchStore(world.db);
    const claim = await new PgPartitionStore(world.db).claim(1, 0, 'fuzz-test');
    const now = Date.now();
    let stored = 0;
    await fc.assert(fc.asyncProperty(fc.array(anyReport(now), { minLength: 1, maxLength: 40 }), fc.boolean(), async (reports, asJson) => {
      const data = asJson ? jsonBytes(reports) : pack(reports);
      const { fixes } = decodeTelemetryMessage('telemetry.fuzz.veh-1', { prefix: 'telemetry.', partitions: 1 }, data, undefined, now);
      await store.writeBatches([{ hold: claim, lastSeq: 1, publishedSeq: 0, fixes, events: [] }]);
      stored += fixes.length;
    }), { numRuns: 150, seed: 16 });
    // The property said something: hundreds of fixes, of every field, went to PostgreSQL.
    expect(stored).toBeGreaterThan(300);
  });

  it('processor - fuzzed messages are each stored or dead-lettered with a code, and never stall a sentinel behind them', async () => {
    const server = await startServer(world.config, silentLog);
    try {
      const now = Date.now();
      const messages = fc.sample(fc.tuple(fc.array(anyReport(now), { minLength: 1, maxLength: 10 }), fc.boolean(), fc.integer({ min: 0, max: 4 })), { numRuns: 150, seed: 7 });
      let expectedFixes = new Set<string>();
      let expectedLetters = 0;
      for (const [reports, asJson, device] of messages) {
        const data = asJson ? jsonBytes(reports) : pack(reports);
        const decoded = decodeTelemetryMessage(`telemetry.chaos.dev-${device}`, { prefix: 'telemetry.', partitions: 1 }, data, undefined, now);
        expectedFixes = new Set([...expectedFixes, ...decoded.fixes.map((f) => `${f.deviceId}@${f.ts}`)]);
        expectedLetters += decoded.rejected.length;
        await world.publish('chaos', `dev-${device}`, data);
      }
      await world.publish('chaos', 'sentinel', pack({ ts: now, lat: 48, lon: 11 }));
      await waitFor('the sentinel stored behind the fuzzed messages', async () => (await countPositions(world.db, "tenant_id = 'chaos' AND device_id = 'sentinel'")) === 1, 20_000);
      expect(await countPositions(world.db, "tenant_id = 'chaos' AND device_id <> 'sentinel'")).toBe(expectedFixes.size);
      const letters = async () => (await world.jsm.streams.info(world.topology.dlqStream, { subjects_filter: `${world.topology.dlqPrefix}chaos` })).state.subjects?.[`${world.topology.dlqPrefix}chaos`] ?? 0;
      await waitFor('every refused report dead-lettered', async () => (await letters()) === expectedLetters, 10_000);
      expect(expectedFixes.size).toBeGreaterThan(50);
      expect(expectedLetters).toBeGreaterThan(20);
    } finally {
      await server.stop();
    }
  });
});
