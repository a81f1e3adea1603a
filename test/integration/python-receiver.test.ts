import { geofenceStore } from '../../src/store/geofence-store.js';
import { createApiKey, keyStore } from '../../src/store/key-store.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { pack } from 'msgpackr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importGeofences } from '../../src/geofences/geofence-import.js';
import { notifyGeofencesChanged } from '../../src/bus/geofence-changes.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { setup, silentLog, waitFor, type TestEnv } from '../support/setup.js';

// FleetIT's documented verification, as its customers copy it: parse the body, re-serialise it
// with json.dumps(separators=(',', ':')), HMAC-SHA256 of "<timestamp>.<serialised>". The same
// request must also pass the raw-body check (HMAC of "<timestamp>.<raw body>") and the Standard
// Webhooks one (base64 HMAC of "<id>.<timestamp>.<raw body>" keyed with the secret's decoded bytes).
const FLEETIT_RECEIVER = `
import base64, hashlib, hmac, json, sys
from http.server import BaseHTTPRequestHandler, HTTPServer

def sign(key, text):
    return hmac.new(key, text, hashlib.sha256)

class Receiver(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers['Content-Length']))
        payload = json.loads(body)
        serialized = json.dumps(payload, separators=(',', ':'))
        ts = self.headers['X-Timestamp']
        fleetit = hmac.compare_digest(sign(SECRET, f"{ts}.{serialized}".encode()).hexdigest(), self.headers['X-Signature'])
        raw = hmac.compare_digest(sign(SECRET, ts.encode() + b'.' + body).hexdigest(), self.headers['X-Signature'])
        signed = f"{self.headers['webhook-id']}.{self.headers['webhook-timestamp']}.".encode() + body
        standard = base64.b64encode(sign(base64.b64decode(SECRET[len('whsec_'):]), signed).digest()).decode()
        standard_ok = ('v1,' + standard) in self.headers['webhook-signature'].split(' ')
        failed = [name for name, ok in (('fleetit', fleetit), ('raw', raw), ('standard', standard_ok)) if not ok]
        print(('verified ' if not failed else 'refused by ' + ','.join(failed) + ' ') + payload['type'] + ' ' + payload['id'], flush=True)
        self.send_response(204 if not failed else 401)
        self.end_headers()

    def log_message(self, *args):
        pass

server = HTTPServer(('127.0.0.1', 0), Receiver)
print(server.server_port, flush=True)
SECRET = sys.stdin.readline().strip().encode()
server.serve_forever()
`;

const FENCES = [
  { id: 'ls', name: 'Landstraße Süd', lat: -33.8688, lon: -70.6483 },
  { id: 'ce', name: 'Café Été', lat: -33.87, lon: -70.64 },
  { id: 'tk', name: '東京駅前', lat: -33.872, lon: -70.632 },
  { id: 'dp', name: 'Depot 🚚', lat: -33.874, lon: -70.624 },
];

let world: TestEnv;
let server: RunningServer;
let python: ChildProcess;
const lines: string[] = [];

beforeAll(async () => {
  world = await setup({ WEBHOOK_ALLOW_PRIVATE: 'true', WEBHOOK_POLL_MS: '50' });
  // Radiation in sieverts: values a JavaScript writer and Python's json.dumps write differently.
  const rules = { attributeThresholds: [{ attribute: 'dose_sv', above: 1e-6 }] };
  await world.db.query('INSERT INTO tenants (id, rules) VALUES ($1, $2)', ['fleet', JSON.stringify(rules)]);
  server = await startServer(world.config, silentLog);
  python = spawn('python3', ['-c', FLEETIT_RECEIVER], { stdio: ['pipe', 'pipe', 'inherit'] });
  createInterface({ input: python.stdout as NodeJS.ReadableStream }).on('line', (line) => lines.push(line));
});

afterAll(async () => {
  python?.kill();
  await server?.stop();
  await world?.dispose();
});

describe('webhooks - a FleetIT-style Python receiver that re-serialises the body verifies every delivery, as do the raw-body and Standard Webhooks checks', () => {
  it('geofence names in several scripts and an emoji, at negative coordinates, attribute values with exponents', async () => {
    await waitFor('the receiver listening', () => lines.length > 0);
    const port = Number(lines.shift());
    const key = (await createApiKey(keyStore(world.db), 'fleet')).key;
    const created = await fetch(`http://127.0.0.1:${server.httpPort}/v1/webhooks`, {
      method: 'POST', headers: { 'x-integration-key': key, 'content-type': 'application/json' },
      body: JSON.stringify({ url: `http://127.0.0.1:${port}/hooks`, events: ['geofence.*', 'attribute.*'] }),
    });
    expect(created.status).toBe(201);
    python.stdin?.write(`${((await created.json()) as { secret: string }).secret}\n`);

    const features = FENCES.map((f) => ({ type: 'Feature', properties: { id: f.id, name: f.name, radius_m: 150 }, geometry: { type: 'Point', coordinates: [f.lon, f.lat] } }));
    expect((await importGeofences(geofenceStore(world.db), 'fleet', { type: 'FeatureCollection', features }, { limits: world.config.quotas.geofences, geometry: null })).errors).toEqual([]);
    await notifyGeofencesChanged(world.nc, world.topology, 'fleet');
    await new Promise((resolve) => setTimeout(resolve, 1000));
    // Into each fence and out again, one fix in the middle of each and one between them.
    const base = Date.now() - 600_000;
    let ts = base;
    for (const f of FENCES) {
      await world.publish('fleet', 'veh-1', pack({ ts: (ts += 10_000), lat: f.lat, lon: f.lon, speed: 12.5, attributes: { dose_sv: 2.5e-6 } }));
      await world.publish('fleet', 'veh-1', pack({ ts: (ts += 10_000), lat: f.lat + 0.01, lon: f.lon, speed: 1e-5, attributes: { dose_sv: 1e-7 } }));
    }
    // Per fence: enter and leave, the zone's change in and out (geofence.change), threshold exceeded and cleared.
    const expected = FENCES.length * 6;
    await waitFor('every event delivered', () => lines.length >= expected, 30_000);
    expect(lines.length).toBe(expected);
    expect(lines.filter((line) => !line.startsWith('verified '))).toEqual([]);
    expect(lines.filter((line) => line.includes(' attribute.threshold_'))).toHaveLength(FENCES.length * 2);
    const cleared = await world.db.query<{ data: unknown }>(`SELECT data FROM events WHERE tenant_id = 'fleet' AND type = 'attribute.threshold_cleared' LIMIT 1`);
    expect(cleared.rows[0]?.data).toMatchObject({ value: 1e-7, limit: 1e-6, max_value: 2.5e-6 });
    const names = (await world.db.query<{ name: string }>(`SELECT DISTINCT data->>'geofence_name' AS name FROM events WHERE tenant_id = 'fleet' AND type IN ('geofence.enter', 'geofence.leave')`)).rows.map((r) => r.name).sort();
    expect(names).toEqual(FENCES.map((f) => f.name).sort());
    const zones = (await world.db.query<{ name: string }>(`SELECT DISTINCT data->>'to_geofence_name' AS name FROM events WHERE tenant_id = 'fleet' AND type = 'geofence.change' AND data->>'to_geofence_name' IS NOT NULL`)).rows.map((r) => r.name).sort();
    expect(zones).toEqual(FENCES.map((f) => f.name).sort());
  });
});
