import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpSender } from '../../../src/webhooks/http-sender.js';

describe('webhooks - the sender never throws', () => {
  it('turns a request Node refuses to write into a failed attempt, not an exception', async () => {
    const sender = new HttpSender(1000, true);
    try {
      const outcome = await sender.send({ url: 'http://127.0.0.1:9/hook', headers: { 'x-broken': 'a\nb' }, body: '{}' });
      expect(outcome).toMatchObject({ statusCode: null, responseBody: null, error: expect.stringMatching(/^request not sent: .*x-broken/) });
      // Node throws ERR_HTTP_TRAILER_INVALID from req.end() for a Trailer header on a request with a length.
      const trailer = await sender.send({ url: 'http://127.0.0.1:9/hook', headers: { Trailer: 'X-Foo' }, body: '{}' });
      expect(trailer).toMatchObject({ statusCode: null, error: expect.stringMatching(/^request not sent: .*[Tt]railer/) });
    } finally {
      sender.close();
    }
  });
});

describe('webhooks - the sender connects to no forbidden address', () => {
  let server: http.Server;
  let port: number;
  let received = 0;
  beforeAll(async () => {
    server = http.createServer((_req, res) => {
      received++;
      res.end('secret internal answer');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it.each([
    ['a loopback IP literal', (p: number) => `http://127.0.0.1:${p}/x`, /^request not sent: 127\.0\.0\.1 is a private/],
    ['a hostname resolving to loopback', (p: number) => `http://localhost:${p}/x`, /^localhost resolves to (127\.0\.0\.1|::1), a private/],
    ['an IPv4-mapped loopback literal', (p: number) => `http://[::ffff:127.0.0.1]:${p}/x`, /^request not sent: ::ffff:7f00:1 is a private/],
  ])('refuses %s, on every attempt, and sends nothing', async (_what, url, error) => {
    const sender = new HttpSender(1000, false);
    try {
      for (let attempt = 0; attempt < 2; attempt++) {
        const outcome = await sender.send({ url: url(port), headers: {}, body: '{}' });
        expect(outcome).toMatchObject({ statusCode: null, responseBody: null, error: expect.stringMatching(error) });
      }
      expect(received).toBe(0);
    } finally {
      sender.close();
    }
  });

  it('the same address is reached when private addresses are allowed (so the refusals above are the guard)', async () => {
    const sender = new HttpSender(1000, true);
    try {
      const outcome = await sender.send({ url: `http://127.0.0.1:${port}/x`, headers: {}, body: '{}' });
      expect(outcome).toMatchObject({ statusCode: 200, responseBody: 'secret internal answer' });
      expect(received).toBe(1);
    } finally {
      sender.close();
    }
  });
});
