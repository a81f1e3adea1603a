import type { GeofenceLimits, GeofenceRow } from './geofence-limits.js';
import type { CountedRows, Page, TimeRange } from './page.js';
import type { DevicePosition } from './fix.js';

// What the API, the CLI and the geofence catalog need of the database, one narrow interface per
// table group; src/store/ implements each (device-reads.ts, event-log.ts, geofence-store.ts,
// tenant-store.ts, key-store.ts, webhook-endpoints.ts) and api-store.ts gathers them.

/** How many rows fell in a sliding window, and when the oldest of them leaves it. */
export interface WindowUsage {
  readonly count: number;
  /** Seconds until the oldest row in the window is out of it: when one more would be allowed. */
  readonly retryAfterS: number;
}

/** A device as the API shows it: its id, when it was first and last heard, its latest position. */
export type DeviceAnswerRow = Record<string, unknown>;

/** What the API reads of devices and their positions. */
export interface DeviceReads {
  list(tenantId: string, page: Page): Promise<CountedRows<DeviceAnswerRow>>;
  /** One device, or null when the tenant has none by that id. */
  latest(tenantId: string, deviceId: string): Promise<DeviceAnswerRow | null>;
  /** A device's positions in a time window, oldest first. */
  positions(tenantId: string, deviceId: string, range: TimeRange, page: Page): Promise<CountedRows<Record<string, unknown>>>;
  /** A device's track in the range, oldest first: at most `max` + 1 fixes, so that one more than `max` says there are too many. */
  track(tenantId: string, deviceId: string, range: TimeRange, max: number): Promise<{ ts: Date; lat: number; lon: number }[]>;
  /** Every device of a tenant at its latest position, with the geofences it is inside: the live queries' start. */
  lastPositions(tenantId: string): Promise<DevicePosition[]>;
  /** The devices with a fix in the last `withinS` seconds, the most recently seen first, at most `limit`. */
  active(tenantId: string, withinS: number, limit: number): Promise<DeviceAnswerRow[]>;
}

/** Which of a tenant's events a list shows: null filters nothing. */
export interface EventFilter extends TimeRange {
  readonly type: string | null;
  readonly deviceId: string | null;
  /** Also the events a late fix retracted, and the retractions themselves (each row with `retracted_by`). */
  readonly includeRetracted: boolean;
}

/** An inbound event as kept in the audit log. */
export interface InboundReceipt {
  readonly id: string;
  readonly received_at: Date;
}

/** What the API reads and writes of the events table and the inbound audit log. */
export interface EventLog {
  /** A tenant's derived events, oldest first. */
  events(tenantId: string, filter: EventFilter, page: Page): Promise<CountedRows<Record<string, unknown>>>;
  /** Keeps an inbound body in the audit log. */
  recordInbound(tenantId: string, body: unknown, bytes: number): Promise<InboundReceipt>;
  /** The audit log, newest first. */
  inbound(tenantId: string, page: Page): Promise<CountedRows<Record<string, unknown>>>;
  /** Inbound events the tenant posted in the last `windowS` seconds. */
  inboundCount(tenantId: string, windowS: number): Promise<WindowUsage>;
  /** Bytes of inbound bodies the tenant posted in the last `windowS` seconds. */
  inboundBytes(tenantId: string, windowS: number): Promise<WindowUsage>;
}

/** A stored geofence: its id and GeoJSON Feature. */
export interface StoredGeofence {
  readonly id: string;
  readonly feature: unknown;
}

/** What the API, the importer and the catalog read and write of the geofences table. */
export interface GeofenceStore {
  /** Creates or replaces geofences all or nothing, unless the tenant's limits would be exceeded. */
  upsert(tenantId: string, rows: readonly GeofenceRow[], limits: GeofenceLimits): Promise<{ quotaError: string | null }>;
  /** A tenant's stored geofences, or only those of `ids`. */
  stored(tenantId: string, ids?: readonly string[] | null): Promise<StoredGeofence[]>;
  /** True when the tenant has a geofence by that id (without reading its Feature). */
  exists(tenantId: string, id: string): Promise<boolean>;
  /** One geofence's Feature, or null when the tenant has none by that id. */
  feature(tenantId: string, id: string): Promise<unknown>;
  /** A page of a tenant's Features, by id. */
  features(tenantId: string, page: Page): Promise<CountedRows<{ feature: unknown }>>;
  /** Deletes a geofence; false when there was none. */
  remove(tenantId: string, id: string): Promise<boolean>;
  /**
   * Per tenant (or only `tenantId`): a digest of its rules, its geofence count and latest
   * change, which moves whenever either changes.
   */
  signatures(tenantId: string | null): Promise<Map<string, string>>;
}

/** What fencewire reads and writes of the tenants table. */
export interface TenantStore {
  /** A tenant's stored rule overrides ({} when it has none or does not exist). */
  rules(tenantId: string): Promise<unknown>;
  /** Creates a tenant; with `rules`, replaces its rule overrides too. */
  create(tenantId: string, rules: unknown | undefined): Promise<void>;
}

/** A key as stored: its id and dates, never the key (only its hash is kept). */
export interface KeyRecord {
  readonly id: string;
  readonly tenant_id: string;
  readonly created_at: Date;
  readonly revoked_at: Date | null;
}

/** What fencewire reads and writes of the api_keys table: keys by their hashes. */
export interface KeyStore {
  insert(id: string, tenantId: string, keyHash: string): Promise<void>;
  /** A tenant's keys, oldest first. */
  list(tenantId: string): Promise<KeyRecord[]>;
  /** Revokes a key now; false when the tenant has no such key. */
  revoke(tenantId: string, id: string): Promise<boolean>;
  /** The tenant of a key hash, or null for an unknown or revoked key. */
  tenantOf(keyHash: string): Promise<string | null>;
  /** Of these key hashes, the ones still valid (not revoked, not deleted). */
  valid(keyHashes: readonly string[]): Promise<Set<string>>;
}

/** An endpoint as the API shows it (never its secret). */
export type EndpointRow = Record<string, unknown> & { readonly url: string; readonly headers: Record<string, string> };

/** A new endpoint's settings, checked already. */
export interface NewEndpoint {
  readonly id: string;
  readonly url: string;
  readonly events: readonly string[];
  readonly secret: string;
  readonly headers: Record<string, string>;
  readonly enabled: boolean;
  readonly description: string | null;
  /** throttle.seconds; null: no throttle. */
  readonly throttleS: number | null;
}

/** The settings a change gives; undefined keeps the stored one (`description: null` clears it, and `throttleS: null` the throttle). */
export type EndpointChange = Partial<Omit<NewEndpoint, 'id'>>;

/** A delivery of one event, queued by the API (a test event). */
export interface QueuedDelivery {
  readonly id: string;
  readonly endpointId: string;
  readonly tenantId: string;
  readonly eventId: string;
  readonly eventType: string;
  readonly body: string;
}

/** What the API reads and writes of webhook endpoints and their delivery logs. */
export interface WebhookEndpoints {
  /** Creates an endpoint unless the tenant has `limit` already (then null). */
  create(tenantId: string, endpoint: NewEndpoint, limit: number): Promise<EndpointRow | null>;
  find(tenantId: string, id: string): Promise<EndpointRow | null>;
  list(tenantId: string, page: Page): Promise<CountedRows<EndpointRow>>;
  update(tenantId: string, id: string, change: EndpointChange): Promise<void>;
  /** Deletes an endpoint and its deliveries; false when there was none. */
  remove(tenantId: string, id: string): Promise<boolean>;
  /** An endpoint's deliveries, newest first, each with every attempt; `status` null for all. */
  deliveries(tenantId: string, endpointId: string, status: string | null, page: Page): Promise<CountedRows<Record<string, unknown>>>;
  queue(delivery: QueuedDelivery): Promise<void>;
  /** Queues a delivery's event again as delivery `newId`; false when the tenant has no such delivery. */
  replay(tenantId: string, deliveryId: string, newId: string): Promise<boolean>;
  /** Replays of a delivery (of the first delivery it replays) in the last `windowS` seconds. */
  replays(deliveryId: string, windowS: number): Promise<WindowUsage>;
}

/** Everything the HTTP API reads and writes in PostgreSQL, one narrow interface per table group. */
/** Which visits a report lists: a range (required) and optionally one geofence or device. */
export interface VisitFilter {
  readonly from: string;
  readonly to: string;
  readonly geofenceId: string | null;
  readonly deviceId: string | null;
}

export type ZoneTimeGrouping = 'device' | 'geofence';

/** Reports over the stored events: who was where, and for how long. */
export interface VisitReports {
  /** Each visit to a geofence in the range, cut to it, oldest first. */
  visits(tenantId: string, filter: VisitFilter, page: Page): Promise<CountedRows<Record<string, unknown>>>;
  /** The visits' count and time inside, per device or per geofence. */
  timeInZone(tenantId: string, range: { readonly from: string; readonly to: string }, groupBy: ZoneTimeGrouping, page: Page): Promise<CountedRows<Record<string, unknown>>>;
}

export interface ApiStore {
  readonly devices: DeviceReads;
  readonly events: EventLog;
  readonly reports: VisitReports;
  readonly geofences: GeofenceStore;
  readonly keys: KeyStore;
  readonly webhooks: WebhookEndpoints;
  /** The tenants' rules (a backtest runs with them). */
  readonly tenants: TenantStore;
}
