import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { connectionConfig, dropDatabase } from '../../src/store/database.js';
import { loadMigrations } from '../../src/store/migrate.js';
import { PrivateNats } from '../support/private-servers.js';

// The compiled package as an operator runs it; the test command builds it first.
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const id = `t${randomBytes(5).toString('hex')}`;
const env = {
  ...process.env,
  DATABASE_URL: `${process.env.TEST_DATABASE_SERVER ?? 'postgres://127.0.0.1:5432'}/fw_${id}`,
  FENCEWIRE_NAMESPACE: id,
  LOG_LEVEL: 'info',
  TELEMETRY_STREAM_MAX_BYTES: String(64 * 1024 * 1024),
};

function fencewire(args: string[], extraEnv: Record<string, string> = {}) {
  return spawnSync(process.execPath, ['bin/fencewire.js', ...args], { cwd: ROOT, env: { ...env, ...extraEnv }, encoding: 'utf8', timeout: 30_000 });
}

afterAll(async () => {
  await dropDatabase(env.DATABASE_URL);
  const { connect } = await import('@nats-io/transport-node');
  const { jetstreamManager } = await import('@nats-io/jetstream');
  const nc = await connect({ servers: process.env.NATS_URL ?? 'nats://127.0.0.1:4222' });
  const jsm = await jetstreamManager(nc);
  for (const stream of ['TELEMETRY', 'DLQ', 'EVENTS']) await jsm.streams.delete(`${id.toUpperCase()}_${stream}`).catch(() => false);
  await nc.close();
});

describe('cli - the built fencewire binary', () => {
  it('migrate creates the database, schema and streams, and is safe to run again', async () => {
    const first = fencewire(['migrate']);
    expect(first.stderr).toBe('');
    expect(first.status).toBe(0);
    const versions = (await loadMigrations()).map((m) => m.version);
    expect(first.stdout).toContain(`"createdDatabase":true,"applied":[${versions.join(',')}]`);
    expect(first.stdout).toMatch(/"createdStreams":\["[A-Z0-9]+_TELEMETRY","[A-Z0-9]+_DLQ","[A-Z0-9]+_EVENTS"\]/);

    const second = fencewire(['migrate']);
    expect(second.status).toBe(0);
    expect(second.stdout).toMatch(/"createdDatabase":false,"applied":\[\]/);
    expect(second.stdout).toMatch(/"createdStreams":\[\]/);

    const db = new pg.Client(connectionConfig(env.DATABASE_URL));
    await db.connect();
    const tables = await db.query(`SELECT to_regclass('positions') AS p, to_regclass('devices') AS d`);
    await db.end();
    expect(tables.rows[0]).toEqual({ p: 'positions', d: 'devices' });

    // Every stream is bounded in bytes: a full TELEMETRY or EVENTS refuses, a full DLQ forgets its oldest.
    const { connect } = await import('@nats-io/transport-node');
    const { jetstreamManager } = await import('@nats-io/jetstream');
    const nc = await connect({ servers: process.env.NATS_URL ?? 'nats://127.0.0.1:4222' });
    try {
      const jsm = await jetstreamManager(nc);
      const limits = async (name: string) => {
        const { config } = await jsm.streams.info(`${id.toUpperCase()}_${name}`);
        return [config.max_bytes, config.discard];
      };
      expect(await limits('TELEMETRY')).toEqual([64 * 1024 * 1024, 'new']);
      expect(await limits('EVENTS')).toEqual([2 * 1024 ** 3, 'new']);
      expect(await limits('DLQ')).toEqual([512 * 1024 ** 2, 'old']);
    } finally {
      await nc.close();
    }
  });

  it('geofences import loads a FeatureCollection, and refuses a bad one whole, naming the feature', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fencewire-'));
    const good = join(dir, 'good.geojson');
    const bad = join(dir, 'bad.geojson');
    const feature = (id: string, coordinates: unknown) => ({ type: 'Feature', properties: { id }, geometry: { type: 'Polygon', coordinates } });
    const square = [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]];
    writeFileSync(good, JSON.stringify({ type: 'FeatureCollection', features: [feature('a', square), feature('b', square)] }));
    writeFileSync(bad, JSON.stringify({ type: 'FeatureCollection', features: [feature('c', square), feature('d', [[[0, 0], [1, 0], [1, 1]]])] }));

    const imported = fencewire(['geofences', 'import', good, '--tenant', 'acme']);
    expect(imported.stderr).toBe('');
    expect(imported.stdout).toMatch(/imported 2 geofences for tenant acme/);
    const refused = fencewire(['geofences', 'import', bad, '--tenant', 'acme']);
    expect(refused.status).toBe(64);
    expect(refused.stderr).toMatch(/nothing imported:\n {2}features\[1\]: geometry.coordinates\[0\] must be a closed ring of at least 4 positions/);

    const db = new pg.Client(connectionConfig(env.DATABASE_URL));
    await db.connect();
    const ids = await db.query(`SELECT id FROM geofences WHERE tenant_id = 'acme' ORDER BY id`);
    await db.end();
    expect(ids.rows.map((r) => r.id)).toEqual(['a', 'b']);
  });

  it('tenant create sets rule thresholds, and refuses unknown ones', async () => {
    const rules = { overspeedLimitKmh: 90, idleMinDurationS: 120, positionRecorded: true, attributeThresholds: [{ attribute: 'temperature', above: 8, minDurationS: 60 }] };
    const created = fencewire(['tenant', 'create', 'fleet-1', '--rules', JSON.stringify(rules)]);
    expect(created.stderr).toBe('');
    expect(created.stdout).toMatch(/tenant fleet-1 ready with its rules set/);
    const refused = fencewire(['tenant', 'create', 'fleet-1', '--rules', '{"idleMinutes": 2}']);
    expect(refused.status).toBe(64);
    expect(refused.stderr).toMatch(/unknown rule setting idleMinutes/);
    const badThreshold = fencewire(['tenant', 'create', 'fleet-1', '--rules', '{"positionRecorded": "yes", "attributeThresholds": [{"attribute": "temperature"}]}']);
    expect(badThreshold.status).toBe(64);
    expect(badThreshold.stderr).toMatch(/positionRecorded must be true or false; attributeThresholds\[0\] needs a limit: above, below or both/);
    const again = fencewire(['tenant', 'create', 'fleet-1']);
    expect(again.status).toBe(0);

    const db = new pg.Client(connectionConfig(env.DATABASE_URL));
    await db.connect();
    const row = await db.query(`SELECT rules FROM tenants WHERE id = 'fleet-1'`);
    await db.end();
    expect(row.rows[0]?.rules).toEqual(rules);
  });

  it('key create prints a key once and stores only its hash', async () => {
    const created = fencewire(['key', 'create', '--tenant', 'acme']);
    expect(created.status).toBe(0);
    const key = created.stdout.split('\n')[0] as string;
    expect(key).toMatch(/^fwk_[A-Za-z0-9_-]{43}$/);
    const db = new pg.Client(connectionConfig(env.DATABASE_URL));
    await db.connect();
    const stored = await db.query(`SELECT tenant_id, key_hash FROM api_keys`);
    await db.end();
    expect(stored.rows).toHaveLength(1);
    expect(stored.rows[0]?.tenant_id).toBe('acme');
    expect(JSON.stringify(stored.rows)).not.toContain(key);

    const id = /\(key (key_[0-9a-f]+) for tenant acme/.exec(created.stdout)?.[1] as string;
    expect(fencewire(['key', 'list', '--tenant', 'acme']).stdout).toMatch(new RegExp(`^${id}\tcreated \\S+\tactive$`, 'm'));
    expect(fencewire(['key', 'revoke', id, '--tenant', 'globex']).status).toBe(64);
    const revoked = fencewire(['key', 'revoke', id, '--tenant', 'acme']);
    expect(revoked.stdout).toMatch(`key ${id} of tenant acme is revoked`);
    expect(fencewire(['key', 'list', '--tenant', 'acme']).stdout).toMatch(new RegExp(`^${id}\tcreated \\S+\trevoked \\S+$`, 'm'));
  });

  it('stops on a bad configuration value with a message naming the variable', () => {
    const result = fencewire(['migrate'], { INGEST_BATCH_SIZE: 'lots' });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/invalid_config: INGEST_BATCH_SIZE: "lots" is not a whole number/);
  });

  it('prints usage for --help and refuses an unknown command', () => {
    expect(fencewire(['--help']).stdout).toMatch(/usage: fencewire <command>/);
    const unknown = fencewire(['launch']);
    expect(unknown.status).toBe(64);
    expect(unknown.stderr).toMatch(/unknown command "launch"/);
  });

  it('nats credentials prints a tenant\'s nkey seed, its inbox prefix, and the server entry that lets it publish only its telemetry', () => {
    const printed = fencewire(['nats', 'credentials', '--tenant', 'acme']);
    expect(printed.status).toBe(0);
    const lines = printed.stdout.trim().split('\n');
    expect(lines[1]).toMatch(/^SU[A-Z2-7]{56}$/);
    expect(lines[2]).toMatch(/inbox prefix .*: _INBOX_acme$/);
    expect(lines[4]).toMatch(/^\{ nkey: U[A-Z2-7]{55}, permissions: \{ publish: \["telemetry\.acme\.\*", "telemetry\.acme\.\*\.\*"\], subscribe: \["_INBOX_acme\.>"\] \} \}$/);
    expect(fencewire(['nats', 'credentials', '--tenant', 'acme']).stdout).not.toContain(lines[1] as string);
    const missing = fencewire(['nats', 'credentials']);
    expect(missing.status).toBe(64);
    expect(missing.stderr).toMatch(/--tenant <id> is required/);
  });

  it('migrate waits for a NATS that is not listening yet, trying again, instead of exiting at once', async () => {
    const nats = await PrivateNats.start({ config: null });
    try {
      await nats.kill();
      const child = spawn(process.execPath, ['bin/fencewire.js', 'migrate'], { cwd: ROOT, env: { ...env, NATS_URL: nats.url, STARTUP_WAIT_MS: '30000' }, stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
      await new Promise((resolve) => setTimeout(resolve, 1500));
      await nats.restart();
      expect(await exited).toBe(0);
      expect(output).toContain('NATS is not answering yet; trying again');
      expect(output).toContain('NATS streams ready');
    } finally {
      await nats.dispose();
    }
  });
});
