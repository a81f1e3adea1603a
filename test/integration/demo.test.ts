import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/private-servers.js';
import { setup, type TestEnv } from '../support/setup.js';

// scripts/demo.sh as a newcomer runs it, on this test's database and namespace: one command,
// real geofences, events printed as they happen, the map's URL, and an end by itself.
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
let world: TestEnv;

beforeAll(async () => {
  world = await setup();
});

afterAll(async () => {
  await world?.dispose();
});

describe('demo - bash scripts/demo.sh', () => {
  it('imports the SF neighbourhoods, prints the map and a key, lists geofence events as they happen and ends by itself', async () => {
    const port = await freePort();
    const env = { ...process.env, ...world.env, HTTP_PORT: String(port), DEMO_DURATION: '12', DEMO_DEVICES: '150', DEMO_RATE: '300', LOG_LEVEL: 'warn' };
    const demo = spawn('bash', ['scripts/demo.sh'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    demo.stdout.on('data', (chunk: Buffer) => void (output += chunk.toString()));
    demo.stderr.on('data', (chunk: Buffer) => void (output += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => demo.on('exit', resolve));
    expect(output).toMatch(/imported 37 geofences for tenant demo/);
    expect(output).toContain(`the live map      http://127.0.0.1:${port}/map`);
    expect(output).toMatch(/integration key {3}fwk_\S+/);
    // One line per event: time, device, type, geofence (a neighbourhood's name).
    expect(output).toMatch(/^\d\d:\d\d:\d\d {2}sim-\d{5} {3}geofence\.(enter|leave) {4,6}\S.*$/m);
    expect(output).toMatch(/demo: done; events by type in the database:\n(\s+\S+: \d+\n)+demo: positions stored: [1-9]\d*/);
    expect(code).toBe(0);
  }, 180_000);
});
