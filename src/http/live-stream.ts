import type { ServerResponse } from 'node:http';
import type { Metrics } from '../metrics.js';
import { decodeTelemetryMessage } from '../decode/message.js';
import { matchesSubscription } from '../webhooks/subscription.js';
import type { LiveMessage, LiveSource } from '../core/live-source.js';

export interface LiveFilter {
  /** Event types or prefixes such as `geofence.*` (as webhook subscriptions); empty: all. */
  readonly types: readonly string[];
  readonly positions: boolean;
}

export interface LiveLimits {
  /** Bytes a client may leave unread before it is disconnected. */
  readonly maxBufferedBytes: number;
  readonly maxClientsPerTenant: number;
  readonly keepAliveMs: number;
}

export const LIVE_LIMITS: LiveLimits = { maxBufferedBytes: 1024 * 1024, maxClientsPerTenant: 50, keepAliveMs: 15_000 };

const decoder = new TextDecoder();

interface Client {
  readonly res: ServerResponse;
  readonly filter: LiveFilter;
  /** The hash of the key the stream was opened with: revoking it ends the stream. */
  readonly keyHash: string;
}

/** Of the key hashes given, those still valid. */
export type KeyCheck = (keyHashes: readonly string[]) => Promise<ReadonlySet<string>>;

interface TenantFeed {
  readonly clients: Set<Client>;
  readonly unsubscribe: () => void;
}

/**
 * `GET /v1/stream`: server-sent events of a tenant's positions (`event: position`, each
 * report as it arrives) and derived events (`event: event`, the envelope), for the live map.
 * One pair of bus subscriptions per tenant, shared by its clients and dropped with the last one.
 * A client that does not read is disconnected once `maxBufferedBytes` wait for it, so a slow
 * reader cannot grow the server's memory. Every keep-alive the streams' keys are checked again:
 * one revoked meanwhile ends its streams.
 */
export class LiveStreams {
  private readonly feeds = new Map<string, TenantFeed>();
  private readonly keepAlive: NodeJS.Timeout;

  constructor(
    private readonly source: LiveSource,
    private readonly metrics: Metrics,
    private readonly keyCheck: KeyCheck,
    private readonly limits: LiveLimits = LIVE_LIMITS,
  ) {
    this.keepAlive = setInterval(() => {
      this.broadcast(() => true, ': keep-alive\n\n');
      void this.endRevoked();
    }, limits.keepAliveMs);
    this.keepAlive.unref();
  }

  /** Clients of one tenant. */
  clientCount(tenantId: string): number {
    return this.feeds.get(tenantId)?.clients.size ?? 0;
  }

  /** True when the tenant has as many streams open as it may. */
  full(tenantId: string): boolean {
    return this.clientCount(tenantId) >= this.limits.maxClientsPerTenant;
  }

  get maxClientsPerTenant(): number {
    return this.limits.maxClientsPerTenant;
  }

  get tenantCount(): number {
    return this.feeds.size;
  }

  /**
   * Streams to `res` until the client goes away (or is cut off for reading too slowly, or its
   * key is revoked). A client already gone (its connection reset while its key was looked up)
   * takes no slot: its 'close' has fired, and nothing would free it.
   */
  open(tenantId: string, res: ServerResponse, filter: LiveFilter, keyHash: string): void {
    if (res.destroyed || res.socket === null || res.socket.destroyed) return;
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no', connection: 'keep-alive' });
    res.write(': fencewire live stream\n\n');
    const client: Client = { res, filter, keyHash };
    this.feed(tenantId).clients.add(client);
    this.metrics.streamClients.inc();
    res.once('close', () => this.close(tenantId, client));
  }

  close(tenantId: string, client: Client): void {
    const feed = this.feeds.get(tenantId);
    if (feed === undefined || !feed.clients.delete(client)) return;
    this.metrics.streamClients.dec();
    if (feed.clients.size === 0) {
      feed.unsubscribe();
      this.feeds.delete(tenantId);
    }
  }

  /** Ends the streams whose key is no longer valid; a failed check is tried at the next keep-alive. */
  private async endRevoked(): Promise<void> {
    const clients = [...this.feeds.entries()].flatMap(([tenantId, feed]) => [...feed.clients].map((client) => ({ tenantId, client })));
    if (clients.length === 0) return;
    const valid = await this.keyCheck([...new Set(clients.map(({ client }) => client.keyHash))]).catch(() => null);
    if (valid === null) return;
    for (const { tenantId, client } of clients) {
      if (valid.has(client.keyHash)) continue;
      client.res.end();
      this.close(tenantId, client);
    }
  }

  /** Ends every stream (server shutdown). */
  stop(): void {
    clearInterval(this.keepAlive);
    for (const feed of this.feeds.values()) for (const client of feed.clients) client.res.end();
  }

  private feed(tenantId: string): TenantFeed {
    const existing = this.feeds.get(tenantId);
    if (existing !== undefined) return existing;
    const { telemetryPrefix, eventsPrefix } = this.source;
    const clients = new Set<Client>();
    const unsubscribers = [
      this.source.subscribe(`${telemetryPrefix}${tenantId}.>`, (msg) => this.position(tenantId, msg)),
      this.source.subscribe(`${eventsPrefix}${tenantId}.>`, (msg) => this.event(tenantId, msg)),
    ];
    const feed = { clients, unsubscribe: () => unsubscribers.forEach((stop) => stop()) };
    this.feeds.set(tenantId, feed);
    return feed;
  }

  private position(tenantId: string, msg: LiveMessage): void {
    if (msg.header('Fencewire-Command') !== undefined) return;
    // The stored subject may carry a partition token; the device is the token after the tenant.
    const deviceId = msg.subject.slice(this.source.telemetryPrefix.length).split('.')[1];
    if (deviceId === undefined) return;
    const subject = `${this.source.telemetryPrefix}${tenantId}.${deviceId}`;
    const decoded = decodeTelemetryMessage(subject, { prefix: this.source.telemetryPrefix, partitions: 1 }, msg.data, msg.header('Content-Type'), Date.now());
    for (const fix of decoded.fixes) {
      const data = JSON.stringify({
        device_id: fix.deviceId, ts: new Date(fix.ts).toISOString(), lat: fix.lat, lon: fix.lon, speed: fix.speed, heading: fix.heading, ignition: fix.ignition,
      });
      this.send(tenantId, (f) => f.positions, `event: position\ndata: ${data}\n\n`);
    }
  }

  private event(tenantId: string, msg: LiveMessage): void {
    const type = msg.subject.slice(this.source.eventsPrefix.length + tenantId.length + 1);
    this.send(tenantId, (f) => f.types.length === 0 || matchesSubscription(f.types, type), `event: event\ndata: ${decoder.decode(msg.data)}\n\n`);
  }

  private send(tenantId: string, wants: (filter: LiveFilter) => boolean, frame: string): void {
    const feed = this.feeds.get(tenantId);
    if (feed === undefined) return;
    for (const client of feed.clients) if (wants(client.filter)) this.write(tenantId, client, frame);
  }

  private broadcast(wants: (filter: LiveFilter) => boolean, frame: string): void {
    for (const tenantId of this.feeds.keys()) this.send(tenantId, wants, frame);
  }

  private write(tenantId: string, client: Client, frame: string): void {
    if (client.res.writableLength > this.limits.maxBufferedBytes) {
      this.metrics.streamClientsDropped.inc();
      client.res.destroy();
      this.close(tenantId, client);
      return;
    }
    client.res.write(frame);
  }
}
