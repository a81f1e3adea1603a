import { pack } from 'msgpackr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/server.js';
import { countPositions, disposeWithServer, jsonBytes, setupWithServer, waitFor, type TestEnv } from '../support/setup.js';

let world: TestEnv;
let server: RunningServer;

beforeAll(async () => {
  ({ world, server } = await setupWithServer());
});

afterAll(() => disposeWithServer(world, server));

async function scrape(): Promise<Map<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${server.httpPort}/metrics`)).text();
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    const match = /^(fencewire_[a-z_]+(?:\{[^}]*\})?) ([0-9.e+-]+)$/.exec(line);
    if (match) values.set(match[1] as string, Number(match[2]));
  }
  return values;
}

describe('ingest - fixes published over NATS end up in positions', () => {
  const base = Date.now() - 60_000;

  it('stores MessagePack and JSON, singles and arrays, every field intact', async () => {
    // 40 singles in MessagePack, 40 singles in JSON, then 4 arrays of 50 in each encoding.
    for (let i = 0; i < 40; i++) await world.publish('acme', 'mp-single', pack({ ts: base + i, lat: 48.1 + i / 1000, lon: 11.5, speed: i }));
    for (let i = 0; i < 40; i++) await world.publish('acme', 'json-single', jsonBytes({ ts: new Date(base + i).toISOString(), lat: 48.2, lon: 11.6 }));
    for (let b = 0; b < 4; b++) {
      const reports = Array.from({ length: 50 }, (_, i) => ({ ts: base + b * 50 + i, lat: 48.3, lon: 11.7, ignition: i % 2 === 0 }));
      await world.publish('acme', 'mp-array', pack(reports));
      await world.publish('globex', 'json-array', jsonBytes(reports), 'application/json');
    }
    const total = 40 + 40 + 200 + 200;
    await waitFor('all fixes stored', async () => (await countPositions(world.db)) === total);

    const perDevice = await world.db.query('SELECT tenant_id, device_id, count(*)::int AS n FROM positions GROUP BY 1, 2 ORDER BY 1, 2');
    expect(perDevice.rows).toEqual([
      { tenant_id: 'acme', device_id: 'json-single', n: 40 },
      { tenant_id: 'acme', device_id: 'mp-array', n: 200 },
      { tenant_id: 'acme', device_id: 'mp-single', n: 40 },
      { tenant_id: 'globex', device_id: 'json-array', n: 200 },
    ]);
  });

  it('keeps every optional field and the attributes', async () => {
    const report = {
      ts: base + 10_000, lat: 52.52, lon: 13.405, speed: 42.5, heading: 270, altitude: 34.5, accuracy: 3.5,
      satellites: 11, ignition: true, odometer: 12345.678, attributes: { temperature: -18.5, door: 'closed', reefer: true, note: 'say "hi", {x} \\ NULL ü' },
    };
    await world.publish('acme', 'full', pack(report));
    await waitFor('the full fix', async () => (await countPositions(world.db, `device_id = 'full'`)) === 1);
    const row = (await world.db.query(`SELECT * FROM positions WHERE device_id = 'full'`)).rows[0];
    expect(row).toMatchObject({
      tenant_id: 'acme', lat: 52.52, lon: 13.405, speed: 42.5, heading: 270, altitude: 34.5, accuracy: 3.5,
      satellites: 11, ignition: true, odometer: 12345.678, attributes: report.attributes,
    });
    expect((row.ts as Date).getTime()).toBe(report.ts);
  });

  it('moves each device to its newest fix, never back to a late one', async () => {
    await world.publish('acme', 'late', pack({ ts: base + 5000, lat: 1, lon: 1 }));
    await waitFor('first fix', async () => (await countPositions(world.db, `device_id = 'late'`)) === 1);
    await world.publish('acme', 'late', pack({ ts: base + 1000, lat: 2, lon: 2 }));
    await waitFor('late fix', async () => (await countPositions(world.db, `device_id = 'late'`)) === 2);
    // The devices table is refreshed once a second, after the fixes themselves.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const device = (await world.db.query(`SELECT lat, last_ts FROM devices WHERE device_id = 'late'`)).rows[0];
    expect(device.lat).toBe(1);
    expect((device.last_ts as Date).getTime()).toBe(base + 5000);
  });

  it('stores a redelivered fix once', async () => {
    const fix = pack({ ts: base + 20_000, lat: 3, lon: 3 });
    await world.publish('acme', 'twice', fix);
    await world.publish('acme', 'twice', fix);
    await waitFor('both messages processed', async () => (await scrape()).get('fencewire_fixes_duplicate_total') === 1);
    expect(await countPositions(world.db, `device_id = 'twice'`)).toBe(1);
  });

  it('reports health and metrics over HTTP', async () => {
    const health = await fetch(`http://127.0.0.1:${server.httpPort}/api/integration/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok', product: 'fencewire', version: '0.1.0' });

    const stored = await countPositions(world.db);
    const metrics = await scrape();
    expect(metrics.get('fencewire_fixes_received_total')).toBe(stored + 1);
    expect(metrics.get('fencewire_fixes_written_total')).toBe(stored);
    expect(metrics.get('fencewire_batch_size_sum')).toBe(stored + 1);
    expect(metrics.get('fencewire_in_flight_messages')).toBe(0);
  });
});
