import { createHmac } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

export interface ReceivedRequest {
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body: string;
  readonly receivedAt: number;
  /** The status this receiver answered, or null when it did not answer. */
  status: number | null;
}

/** How the receiver answers one request: a status, or `hang` (never answer). */
export type Answer = { status: number; headers?: Record<string, string>; body?: string } | 'hang';

export interface Receiver {
  readonly port: number;
  readonly requests: ReceivedRequest[];
  url(path: string): string;
  /** Requests to `path` whose signatures both verified, in order of arrival. */
  at(path: string): ReceivedRequest[];
  /** Signature failures seen; a test expects none. */
  readonly badSignatures: string[];
  close(): Promise<void>;
}

/**
 * A real HTTP receiver on loopback. Every request is checked as a customer would: `X-Signature`
 * by recomputing the HMAC with the endpoint's secret, `webhook-signature` with the
 * `standardwebhooks` package. `secretFor` maps a path to its endpoint's secret.
 */
export async function startReceiver(
  answer: (request: ReceivedRequest) => Answer, secretFor: (path: string) => string | undefined, port = 0,
): Promise<Receiver> {
  const requests: ReceivedRequest[] = [];
  const badSignatures: string[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
      const received: ReceivedRequest = { path: req.url ?? '', headers, body: Buffer.concat(chunks).toString('utf8'), receivedAt: Date.now(), status: null };
      const secret = secretFor(received.path);
      if (secret === undefined) {
        badSignatures.push(`${received.path}: no endpoint known`);
      } else {
        const expected = createHmac('sha256', secret).update(`${headers['x-timestamp']}.${received.body}`).digest('hex');
        if (headers['x-signature'] !== expected) badSignatures.push(`${received.path}: X-Signature does not verify`);
        try {
          new Webhook(secret).verify(received.body, headers);
        } catch (err) {
          badSignatures.push(`${received.path}: webhook-signature: ${(err as Error).message}`);
        }
      }
      requests.push(received);
      const reply = answer(received);
      if (reply === 'hang') return;
      received.status = reply.status;
      res.writeHead(reply.status, reply.headers).end(reply.body ?? '');
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const bound = (server.address() as AddressInfo).port;
  return {
    port: bound,
    requests,
    badSignatures,
    url: (path) => `http://127.0.0.1:${bound}${path}`,
    at: (path) => requests.filter((r) => r.path === path),
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
