/**
 * Backtest benchmark (issue 20): POST /v1/geofences/backtest of one San Francisco neighbourhood
 * over 1 000 000 stored positions (1 000 devices driving loops across the city, a fix every 30 s),
 * through the API (its worker thread reads the positions through a cursor and runs the geofence
 * rule). Prints positions per second, next to two baselines measured in the same run: the same
 * cursor read alone (what the rule adds), and PostGIS's ST_Covers of the same positions against
 * the same neighbourhood (only which fixes are inside, no events).
 *
 *   npx tsx bench/backtest.bench.ts [--devices 1000] [--fixes 1000]
 */
import { parseArgs } from 'node:util';
import { importGeofences } from '../src/geofences/geofence-import.js';
import { startServer } from '../src/server.js';
import { backtestFixes, openBacktestSession } from '../src/store/backtest-positions.js';
import { createApiKey, keyStore } from '../src/store/key-store.js';
import { geofenceStore } from '../src/store/geofence-store.js';
import { loadFeatureCollection } from '../test/support/recorded-drive.js';
import { setup, silentLog } from '../test/support/setup.js';
import { formatRate, machineLine } from './machine.js';

const { values } = parseArgs({ options: { devices: { type: 'string' }, fixes: { type: 'string' } } });
const DEVICES = Number(values.devices ?? 1000);
const FIXES = Number(values.fixes ?? 1000);
const TENANT = 'bench';

async function main(): Promise<void> {
  console.log(machineLine());
  const world = await setup();
  const server = await startServer(world.config, silentLog, ['api']);
  try {
    await world.db.query('CREATE EXTENSION IF NOT EXISTS postgis');
    const imported = await importGeofences(geofenceStore(world.db), TENANT, loadFeatureCollection('sf-neighborhoods.geojson'), { limits: world.config.quotas.geofences, geometry: null });
    if (imported.errors.length > 0) throw new Error(imported.errors.join('; '));
    const from = new Date(Date.now() - 20 * 3600_000);
    const to = new Date(from.getTime() + FIXES * 30_000 + 1000);
    // Loops around the city, each device its own: they cross neighbourhoods all the time.
    await world.db.query(`INSERT INTO positions (tenant_id, device_id, ts, lat, lon, speed)
      SELECT $1, 'v' || d, $2::timestamptz + make_interval(secs => i * 30), 37.765 + 0.035 * sin(i / 40.0 + d), -122.445 + 0.05 * cos(i / 55.0 + d * 1.3), 30
        FROM generate_series(0, $3 - 1) AS d, generate_series(0, $4 - 1) AS i`, [TENANT, from, DEVICES, FIXES]);
    await world.db.query('ANALYZE positions');
    const total = DEVICES * FIXES;
    const { rows: [busiest] } = await world.db.query<{ id: string; name: string }>(
      `SELECT id, feature->'properties'->>'name' AS name FROM geofences WHERE tenant_id = $1 AND feature->'properties'->>'name' = 'Mission'`, [TENANT]);
    if (busiest === undefined) throw new Error('no Mission neighbourhood in the fixture');
    const { key } = await createApiKey(keyStore(world.db), TENANT);
    console.log(`${total.toLocaleString('en-US')} stored positions, ${DEVICES} devices; geofence ${busiest.name}`);

    let started = performance.now();
    const response = await fetch(`http://127.0.0.1:${server.httpPort}/v1/geofences/backtest`, {
      method: 'POST', headers: { 'x-integration-key': key, 'content-type': 'application/json' },
      body: JSON.stringify({ geofence_id: busiest.id, from: from.toISOString(), to: to.toISOString() }),
    });
    const answer = (await response.json()) as { positions: number; events: unknown[]; summary?: { fixes: number } };
    const backtestS = (performance.now() - started) / 1000;
    if (answer.summary?.fixes !== total) throw new Error(`the backtest read ${answer.summary?.fixes} fixes of ${total}`);
    console.log(`  backtest over HTTP       ${formatRate(total / backtestS)} positions (${backtestS.toFixed(1)} s, ${answer.events.length} events)`);

    started = performance.now();
    const client = await openBacktestSession(world.config.databaseUrl);
    let read = 0;
    try {
      for await (const chunk of backtestFixes(client, { tenantId: TENANT, from, to, deviceIds: null })) read += chunk.length;
    } finally {
      await client.end();
    }
    const readS = (performance.now() - started) / 1000;
    console.log(`  baseline: cursor read    ${formatRate(read / readS)} positions (${readS.toFixed(1)} s): the rule and the answer take ${(((backtestS - readS) / backtestS) * 100).toFixed(0)}% of the backtest`);

    started = performance.now();
    const { rows: [inside] } = await world.db.query<{ n: string }>(`SELECT count(*) AS n FROM positions p, geofences g
      WHERE p.tenant_id = $1 AND g.tenant_id = $1 AND g.id = $2 AND ST_Covers(ST_SetSRID(ST_GeomFromGeoJSON(g.feature->'geometry'), 4326), ST_SetSRID(ST_MakePoint(p.lon, p.lat), 4326))`, [TENANT, busiest.id]);
    const postgisS = (performance.now() - started) / 1000;
    console.log(`  baseline: PostGIS        ${formatRate(total / postgisS)} positions (${postgisS.toFixed(1)} s, ${inside?.n} inside; containment only) | backtest/PostGIS ${(postgisS / backtestS).toFixed(2)}x`);
  } finally {
    await server.stop();
    await world.dispose();
  }
}

await main();
