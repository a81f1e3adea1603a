import http from 'node:http';
import https from 'node:https';
import { guardedLookup } from './address-guard.js';

/** What one attempt produced; `statusCode` is null when no answer came (timeout, refused, ...). */
export interface AttemptOutcome {
  readonly startedAt: Date;
  readonly statusCode: number | null;
  readonly latencyMs: number;
  readonly error: string | null;
  /** The first KiB of the answer's body. */
  readonly responseBody: string | null;
  /** The answer's Retry-After header, if any. */
  readonly retryAfter: string | undefined;
}

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
 */
export class HttpSender {
  private readonly httpAgent: http.Agent;
  private readonly httpsAgent: https.Agent;

  constructor(private readonly timeoutMs: number, allowPrivate: boolean) {
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
        resolve({ startedAt, statusCode, latencyMs: Math.round(performance.now() - started), error, responseBody, retryAfter });
      };
      let req: http.ClientRequest;
      try {
        req = this.request(request, finish);
      } catch (err) {
        // Node refuses some requests before sending anything (a header value it will not write).
        finish(null, `request not sent: ${(err as Error).message}`, null);
        return;
      }
      timer = setTimeout(() => {
        finish(null, `no answer within ${this.timeoutMs} ms`, null);
        req.destroy();
      }, this.timeoutMs);
      req.on('error', (err) => finish(null, err.message, null));
      req.end(Buffer.from(request.body, 'utf8'));
    });
  }

  private request(request: WebhookRequest, finish: Finish): http.ClientRequest {
    const url = new URL(request.url);
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
