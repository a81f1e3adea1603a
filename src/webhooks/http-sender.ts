import http from 'node:http';
import https from 'node:https';
import { isIP, type Socket } from 'node:net';
import type { AttemptOutcome } from '../core/delivery.js';
import { storableText } from '../core/storable-text.js';
import { forbiddenAddressError, guardedLookup, isForbiddenAddress, urlHost } from './address-guard.js';

export interface WebhookRequest {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

const RESPONSE_KEPT_BYTES = 1024;

/** Settles an attempt, once, with what it produced. */
type Finish = (statusCode: number | null, error: string | null, responseBody: string | null, retryAfter?: string) => void;

/**
 * Sends webhook requests over keep-alive connections. Redirects are not followed (a 3xx is a
 * failed attempt): following one could lead to an address the guard would have refused.
 * Unless private addresses are allowed, every connection is checked three ways: a hostname's
 * addresses in the connection's own DNS lookup, an IP literal before the request is made, and
 * the address the socket actually connected to before anything is written on it.
 */
export class HttpSender {
  private readonly httpAgent: http.Agent;
  private readonly httpsAgent: https.Agent;

  constructor(private readonly timeoutMs: number, private readonly allowPrivate: boolean) {
    const options = { keepAlive: true, ...(allowPrivate ? {} : { lookup: guardedLookup }) };
    this.httpAgent = new http.Agent(options);
    this.httpsAgent = new https.Agent(options);
  }

  /** POSTs one request; never throws: every failure is an outcome to log. */
  send(request: WebhookRequest): Promise<AttemptOutcome> {
    const startedAt = new Date();
    const started = performance.now();
    return new Promise((resolve) => {
      let settled = false;
      // Set once the request is out; a request refused before that settles without one.
      let timer: NodeJS.Timeout | undefined = undefined;
      const finish: Finish = (statusCode, error, responseBody, retryAfter) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        // A receiver's answer (and an error quoting it) is whatever it chose to send: a NUL byte in
        // it once failed the insert of every tenant's attempts.
        resolve({
          startedAt, statusCode, latencyMs: Math.round(performance.now() - started),
          error: error === null ? null : storableText(error), responseBody: responseBody === null ? null : storableText(responseBody), retryAfter,
        });
      };
      let req: http.ClientRequest | undefined = undefined;
      try {
        const url = new URL(request.url);
        const host = urlHost(url);
        if (!this.allowPrivate && isIP(host) !== 0 && isForbiddenAddress(host)) {
          finish(null, `request not sent: ${forbiddenAddressError(host, host).message}`, null);
          return;
        }
        req = this.request(url, request, finish);
        const sent = req;
        timer = setTimeout(() => {
          finish(null, `no answer within ${this.timeoutMs} ms`, null);
          sent.destroy();
        }, this.timeoutMs);
        req.on('error', (err) => finish(null, err.message, null));
        if (!this.allowPrivate) req.on('socket', (socket: Socket) => this.guardConnection(socket, host));
        req.end(Buffer.from(request.body, 'utf8'));
      } catch (err) {
        // Node refuses some requests before sending anything (a header value or a header it will
        // not write, such as Trailer without chunked encoding): a failed attempt, never a throw.
        finish(null, `request not sent: ${(err as Error).message}`, null);
        req?.destroy();
      }
    });
  }

  /**
   * Destroys the socket, before the request is written on it, when the address it connected
   * to is forbidden. The listener is added before the request's own wait for `connect`, so it
   * runs first; a reused keep-alive socket was checked when it connected.
   */
  private guardConnection(socket: Socket, host: string): void {
    const check = () => {
      const address = socket.remoteAddress;
      if (address !== undefined && isForbiddenAddress(address)) socket.destroy(forbiddenAddressError(host, address));
    };
    if (socket.connecting) socket.once('connect', check);
    else check();
  }

  private request(url: URL, request: WebhookRequest, finish: Finish): http.ClientRequest {
    const transport = url.protocol === 'https:' ? https : http;
    return transport.request(url, {
      method: 'POST',
      agent: url.protocol === 'https:' ? this.httpsAgent : this.httpAgent,
      headers: { ...request.headers, 'content-length': String(Buffer.byteLength(request.body, 'utf8')) },
    }, (res) => {
      const kept: Buffer[] = [];
      let keptBytes = 0;
      res.on('data', (chunk: Buffer) => {
        if (keptBytes < RESPONSE_KEPT_BYTES) {
          kept.push(chunk.subarray(0, RESPONSE_KEPT_BYTES - keptBytes));
          keptBytes += Math.min(chunk.length, RESPONSE_KEPT_BYTES - keptBytes);
        }
      });
      res.on('end', () => {
        const status = res.statusCode ?? null;
        const ok = status !== null && status >= 200 && status < 300;
        const retryAfter = res.headers['retry-after'];
        finish(status, ok ? null : `answered ${status}`, Buffer.concat(kept).toString('utf8'), Array.isArray(retryAfter) ? retryAfter[0] : retryAfter);
      });
      res.on('error', (err) => finish(res.statusCode ?? null, `answer cut off: ${err.message}`, Buffer.concat(kept).toString('utf8')));
    });
  }

  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}
