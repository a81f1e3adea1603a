import { createApiKey, keyStore } from '../../src/store/key-store.js';
import { connect as connectTcp } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { envelope, derivedEvent } from '../../src/core/event.js';
import { natsLiveSource } from '../../src/bus/live-source.js';
import { telemetrySubject } from '../../src/bus/topology.js';
import { buildApp } from '../../src/http/app.js';
import { LiveStreams } from '../../src/http/live-stream.js';
import { createMetrics } from '../../src/metrics.js';
import { apiDeps, jsonBytes, setup, waitFor, type TestEnv } from '../support/setup.js';

// GET /v1/stream on a real NATS: what one tenant's client gets, and what happens to clients
// that go away or stop reading.
let world: TestEnv;
let app: ReturnType<typeof buildApp>;
let live: LiveStreams;
let base: string;
let port: number;
const metrics = createMetrics();
const keys: Record<string, string> = {};
const T = Date.now() - 60_000;

beforeAll(async () => {
  world = await setup();
  // A small buffer limit, so that the slow-reader test needs little traffic.
  live = new LiveStreams(natsLiveSource(world.nc, world.topology), metrics, (hashes) => keyStore(world.db).valid(hashes), { maxBufferedBytes: 64 * 1024, maxClientsPerTenant: 3, keepAliveMs: 500 });
  app = buildApp(apiDeps(world, { live, metrics }));
  await app.listen({ port: 0, host: '127.0.0.1' });
  port = (app.server.address() as AddressInfo).port;
  base = `http://127.0.0.1:${port}`;
  for (const tenant of ['north', 'south']) keys[tenant] = (await createApiKey(keyStore(world.db), tenant)).key;
});

afterAll(async () => {
  await app?.close();
  await world?.dispose();
});

/** A stream client that collects frames until aborted. */
function open(tenant: string, query = ''): { frames: string[]; response: Promise<Response>; abort: () => void } {
  const controller = new AbortController();
  const frames: string[] = [];
  const response = fetch(`${base}/v1/stream${query}`, { headers: { 'x-integration-key': keys[tenant] as string }, signal: controller.signal });
  void response.then(async (r) => {
    const reader = (r.body as ReadableStream<Uint8Array>).pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      const parts = buffer.split('\n\n');
      buffer = parts.pop() ?? '';
      frames.push(...parts.filter((p) => !p.startsWith(':')));
    }
  }).catch(() => undefined);
  return { frames, response, abort: () => controller.abort() };
}

const publishEvent = (tenant: string, device: string, type: 'geofence.enter' | 'ignition.on') => {
  const event = derivedEvent(tenant, device, type, T, { geofence_id: 'g', geofence_name: 'Göttingen', lat: 1, lon: 2, speed: 3 });
  world.nc.publish(`${world.topology.eventsPrefix}${tenant}.${type}`, envelope(event));
  return event;
};

describe('live stream - GET /v1/stream', () => {
  it('needs a key, and refuses a malformed type filter', async () => {
    expect((await fetch(`${base}/v1/stream`)).status).toBe(401);
    const bad = await fetch(`${base}/v1/stream?types=Geofence*`, { headers: { 'x-integration-key': keys.north as string } });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { message: string } }).error.message).toMatch(/types: "Geofence\*" is not an event type/);
  });

  it('sends a tenant its own positions and events only, filtered by type when asked', async () => {
    const north = open('north');
    const northEnters = open('north', '?types=geofence.*&positions=false');
    const south = open('south');
    expect((await north.response).headers.get('content-type')).toMatch(/^text\/event-stream/);
    await Promise.all([northEnters.response, south.response]);
    await waitFor('three feeds open', () => live.clientCount('north') === 2 && live.clientCount('south') === 1);

    world.nc.publish(telemetrySubject(world.topology, 'north', 'cab-1'), jsonBytes({ ts: T, lat: 37.77, lon: -122.42, speed: 12 }));
    world.nc.publish(telemetrySubject(world.topology, 'south', 'bus-9'), jsonBytes({ ts: T, lat: -33.87, lon: 151.2 }));
    world.nc.publish(telemetrySubject(world.topology, 'north', 'cab-2'), jsonBytes({ ts: T, lat: 0, lon: 0 }));
    const enter = publishEvent('north', 'cab-1', 'geofence.enter');
    publishEvent('north', 'cab-1', 'ignition.on');
    publishEvent('south', 'bus-9', 'geofence.enter');
    await waitFor('the frames', () => north.frames.length >= 3 && south.frames.length >= 2 && northEnters.frames.length >= 1);
    await new Promise((resolve) => setTimeout(resolve, 300));

    expect(north.frames).toEqual([
      `event: position\ndata: {"device_id":"cab-1","ts":"${new Date(T).toISOString()}","lat":37.77,"lon":-122.42,"speed":12,"heading":null,"ignition":null}`,
      `event: event\ndata: ${envelope(enter)}`,
      expect.stringMatching(/^event: event\ndata: .*"type":"ignition.on"/),
    ]);
    expect(northEnters.frames).toEqual([`event: event\ndata: ${envelope(enter)}`]);
    expect(south.frames.every((f) => !f.includes('north') && !f.includes('cab-'))).toBe(true);
    expect(south.frames).toHaveLength(2);
    for (const client of [north, northEnters, south]) client.abort();
  });

  it('frees a client\'s place and the tenant\'s bus subscriptions when it disconnects, and limits streams per tenant', async () => {
    await waitFor('earlier clients gone', () => live.tenantCount === 0);
    const clients = [open('north'), open('north'), open('north')];
    await Promise.all(clients.map((c) => c.response));
    await waitFor('three clients', () => live.clientCount('north') === 3);
    const fourth = await fetch(`${base}/v1/stream`, { headers: { 'x-integration-key': keys.north as string } });
    expect(fourth.status).toBe(429);
    for (const c of clients) c.abort();
    await waitFor('every client freed', () => live.clientCount('north') === 0 && live.tenantCount === 0);
    expect((await metrics.streamClients.get()).values[0]?.value).toBe(0);
  });

  it('disconnects a client that stops reading instead of buffering for it without bound', async () => {
    // A client that sends its request and never reads the answer.
    const socket = connectTcp({ port, host: '127.0.0.1' });
    socket.pause();
    let closed = false;
    socket.on('close', () => void (closed = true));
    socket.on('error', () => undefined);
    socket.write(`GET /v1/stream HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Integration-Key: ${keys.south}\r\n\r\n`);
    await waitFor('the slow client connected', () => live.clientCount('south') === 1);
    const report = jsonBytes({ ts: T, lat: -33.87, lon: 151.2, speed: 10, attributes: { padding: 'x'.repeat(400) } });
    const dropped = async () => (await metrics.streamClientsDropped.get()).values[0]?.value ?? 0;
    for (let round = 0; round < 200 && (await dropped()) === 0; round++) {
      for (let i = 0; i < 500; i++) world.nc.publish(telemetrySubject(world.topology, 'south', `bus-${i}`), report);
      await world.nc.flush();
    }
    expect(await dropped()).toBe(1);
    expect(live.clientCount('south')).toBe(0);
    // Reading again, the client finds the stream ended after what was already sent.
    socket.resume();
    await waitFor('the slow client cut off', () => closed);
  });

  it('takes no place for a client whose connection resets while its key is looked up: 60 resets leave the tenant its streams', async () => {
    await waitFor('earlier clients gone', () => live.tenantCount === 0);
    for (let i = 0; i < 60; i++) {
      const socket = connectTcp({ port, host: '127.0.0.1' });
      socket.on('error', () => undefined);
      await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
      socket.write(`GET /v1/stream HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Integration-Key: ${keys.north}\r\n\r\n`);
      socket.resetAndDestroy();
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(live.clientCount('north')).toBe(0);
    const stream = open('north');
    expect((await stream.response).status).toBe(200);
    stream.abort();
  });

  it('ends a stream within a keep-alive once its key is revoked', async () => {
    const { id, key } = await createApiKey(keyStore(world.db), 'east');
    keys.east = key;
    const stream = open('east');
    const response = await stream.response;
    expect(response.status).toBe(200);
    await waitFor('the stream open', () => live.clientCount('east') === 1);
    expect(await keyStore(world.db).revoke('east', id)).toBe(true);
    await waitFor('the stream ended', () => live.clientCount('east') === 0, 5000);
    expect((await fetch(`${base}/v1/stream`, { headers: { 'x-integration-key': key } })).status).toBe(401);
  });
});
