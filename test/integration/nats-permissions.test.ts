import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstream } from '@nats-io/jetstream';
import { connect, nkeyAuthenticator, type NatsConnection } from '@nats-io/transport-node';
import { pack } from 'msgpackr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newTenantCredentials } from '../../src/bus/tenant-credentials.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { NATS_CONFIG, PrivateNats } from '../support/private-servers.js';
import { countPositions, setup, silentLog, waitFor, type TestEnv } from '../support/setup.js';

// The shipped NATS configuration (docs/nats-server.conf) with one tenant's entry added where it
// says, as `fencewire nats credentials` prints it: fencewire runs with its own user, a gateway
// with the tenant's nkey can publish its telemetry and nothing else.
let dir: string;
let nats: PrivateNats;
let world: TestEnv;
let server: RunningServer;
let gateway: NatsConnection;
const acme = newTenantCredentials('acme');

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fw-nats-conf-'));
  const config = join(dir, 'nats-server.conf');
  const shipped = readFileSync(NATS_CONFIG, 'utf8');
  expect(shipped).toContain('# TENANTS');
  writeFileSync(config, shipped.replace('# TENANTS', acme.userEntry));
  nats = await PrivateNats.start({ config });
  world = await setup({ ...nats.env, FENCEWIRE_NAMESPACE: '', WEBHOOK_ALLOW_PRIVATE: 'true' });
  server = await startServer(world.config, silentLog);
  gateway = await connect({ servers: nats.url, authenticator: nkeyAuthenticator(new TextEncoder().encode(acme.seed)), inboxPrefix: acme.inboxPrefix });
});

afterAll(async () => {
  await gateway?.close();
  await server?.stop();
  await world?.dispose();
  await nats?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

describe('nats permissions - the shipped configuration', () => {
  it('refuses a client without credentials', async () => {
    await expect(connect({ servers: nats.url, reconnect: false })).rejects.toThrow(/Authorization/i);
  });

  it('lets fencewire run with its own user, and a tenant\'s gateway publish its telemetry, which is stored', async () => {
    const ack = await jetstream(gateway).publish('telemetry.acme.veh-1', pack({ ts: Date.now() - 1000, lat: 48.1, lon: 11.5 }));
    expect(ack.stream).toBe('TELEMETRY');
    await waitFor('the gateway\'s fix stored', async () => (await countPositions(world.db, "tenant_id = 'acme'")) === 1, 15_000);
  });

  it.each([
    ['another tenant\'s telemetry', 'telemetry.other.veh-1'],
    ['an event', 'events.acme.device.offline'],
    ['another tenant\'s event', 'events.other.geofence.enter'],
    ['a lease', '$KV.fencewire-leases.partition.0'],
    ['a stream\'s deletion', '$JS.API.STREAM.DELETE.TELEMETRY'],
    ['a dead letter', 'dlq.telemetry.acme'],
    ['a geofence notice', 'fencewire.geofences.changed'],
  ])('refuses the gateway %s (%s)', async (_what, subject) => {
    // A subject the server maps (telemetry.*.*) is refused as mapped, which the client cannot
    // match to its request: it sees a timeout rather than the violation. Either way nothing is
    // stored, as the last test checks.
    await expect(jetstream(gateway).publish(subject, new TextEncoder().encode('{}'), { timeout: 1000 })).rejects.toThrow(/Permissions Violation for Publish|timeout/);
  });

  it.each([['events.>'], ['telemetry.>'], ['_INBOX.>'], ['$KV.fencewire-leases.>']])('refuses the gateway a subscription to %s', async (subject) => {
    const sub = gateway.subscribe(subject);
    const ended = (async () => {
      for await (const _msg of sub) return 'message';
      return 'ended';
    })();
    await expect(ended).rejects.toThrow(/Permissions Violation for Subscription/);
  });

  it('stored nothing the gateway was refused: one telemetry message, no event, no dead letter, the leases fencewire\'s', async () => {
    expect((await world.jsm.streams.info('TELEMETRY')).state.messages).toBe(1);
    expect((await world.jsm.streams.info('EVENTS')).state.messages).toBe(0);
    expect((await world.jsm.streams.info('DLQ')).state.messages).toBe(0);
    const leases = await world.jsm.streams.info('KV_fencewire-leases');
    const lease = await world.jsm.streams.getMessage('KV_fencewire-leases', { last_by_subj: '$KV.fencewire-leases.partition.0' }).catch(() => null);
    expect(lease === null || lease.string() !== '{}').toBe(true);
    expect(leases.config.name).toBe('KV_fencewire-leases');
    expect(await countPositions(world.db)).toBe(1);
  });
});
