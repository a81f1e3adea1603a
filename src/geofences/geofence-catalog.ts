import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import type pg from 'pg';
import type { Logger } from 'pino';
import type { Geofence } from '../core/geometry/geofence.js';
import { GeofenceIndex } from '../core/geometry/geofence-index.js';
import { DEFAULT_RULES, resolveRules, type RuleConfig } from '../core/rule-config.js';
import type { Topology } from '../bus/topology.js';
import type { RuleSource, TenantRules } from '../core/rule-source.js';
import { storedGeofences, type StoredGeofence } from '../store/geofence-store.js';
import { fromTransfer } from './geofence-transfer.js';
import { prepareStored } from './geofence-validation.js';
import type { GeometryThread } from './geometry-thread.js';

const EMPTY: TenantRules = { index: new GeofenceIndex(), rules: DEFAULT_RULES };
/** A missed change notification (a reconnect at the wrong moment) heals within this time. */
const FULL_RELOAD_MS = 60_000;

/** What changed: a tenant's rules or everything (no ids), or the geofences named. */
export interface GeofenceChange {
  readonly tenantId: string;
  readonly geofenceIds: readonly string[] | null;
}

/**
 * Tells every running processor that a tenant's geofences or rules changed. With ids, only
 * those geofences are read and prepared again; without, the whole tenant is.
 */
export function notifyGeofencesChanged(nc: NatsConnection, t: Topology, tenantId: string, geofenceIds: readonly string[] | null = null): Promise<void> {
  nc.publish(t.geofenceChanges, geofenceIds === null ? tenantId : JSON.stringify({ tenant: tenantId, geofences: geofenceIds }));
  return nc.flush();
}

/** A change notice's payload: a tenant id alone, or `{"tenant", "geofences": [ids]}`. */
export function parseGeofenceChange(payload: string): GeofenceChange | null {
  if (!payload.startsWith('{')) return payload === '' ? null : { tenantId: payload, geofenceIds: null };
  try {
    const { tenant, geofences } = JSON.parse(payload) as { tenant?: unknown; geofences?: unknown };
    if (typeof tenant !== 'string' || !Array.isArray(geofences) || !geofences.every((id) => typeof id === 'string')) return null;
    return { tenantId: tenant, geofenceIds: geofences as string[] };
  } catch {
    return null;
  }
}

interface TenantCatalog extends TenantRules {
  readonly geofences: ReadonlyMap<string, Geofence>;
}

/**
 * Every tenant's geofences and rules, loaded from PostgreSQL at start and changed when a notice
 * arrives on NATS, so that an import or an API change reaches the running processor within a
 * second, without a restart. A notice naming geofences re-reads only those; the rest of the
 * tenant's prepared geofences are kept and only its index is rebuilt. Preparing is done on the
 * geometry thread, off the event loop.
 */
export class GeofenceCatalog implements RuleSource {
  private tenants = new Map<string, TenantCatalog>();
  /** Per tenant, a digest of its geofences and rules as last loaded: unchanged ones are not rebuilt. */
  private signatures = new Map<string, string>();
  private subscription: Subscription | null = null;
  private timer: NodeJS.Timeout | null = null;
  /** Changes are applied one at a time, in the order they arrived. */
  private changes: Promise<void> = Promise.resolve();

  constructor(private readonly pool: pg.Pool, private readonly log: Logger, private readonly geometry: GeometryThread | null = null) {}

  forTenant(tenantId: string): TenantRules {
    return this.tenants.get(tenantId) ?? EMPTY;
  }

  rulesFor(tenantId: string): RuleConfig {
    return this.forTenant(tenantId).rules;
  }

  /** Loads everything, then follows change notifications. */
  async start(nc: NatsConnection, t: Topology): Promise<void> {
    await this.reloadAll();
    this.subscription = nc.subscribe(t.geofenceChanges, {
      callback: (err, msg) => {
        const change = err ? null : parseGeofenceChange(msg.string());
        if (change !== null) void this.apply(change);
      },
    });
    this.timer = setInterval(() => {
      this.changes = this.changes.then(() => this.reloadAll()).catch((e: Error) => this.log.warn({ err: e.message }, 'geofence reload failed'));
    }, FULL_RELOAD_MS);
  }

  stop(): void {
    this.subscription?.unsubscribe();
    if (this.timer) clearInterval(this.timer);
  }

  /** Applies a change after those before it; resolves once it is in force (failures are logged). */
  apply(change: GeofenceChange): Promise<void> {
    this.changes = this.changes.then(() => this.applyNow(change)).catch((e: Error) => {
      this.log.warn({ tenantId: change.tenantId, err: e.message }, 'geofence reload failed');
    });
    return this.changes;
  }

  private async applyNow({ tenantId, geofenceIds }: GeofenceChange): Promise<void> {
    const known = this.tenants.get(tenantId);
    if (geofenceIds === null || known === undefined) {
      this.tenants.set(tenantId, await this.loadTenant(tenantId));
    } else {
      const geofences = new Map(known.geofences);
      for (const id of geofenceIds) geofences.delete(id);
      for (const geofence of await this.prepare(tenantId, await storedGeofences(this.pool, tenantId, geofenceIds))) geofences.set(geofence.id, geofence);
      this.tenants.set(tenantId, { geofences, index: new GeofenceIndex(geofences.values()), rules: known.rules });
    }
    const signature = (await this.currentSignatures(tenantId)).get(tenantId);
    if (signature === undefined) this.signatures.delete(tenantId);
    else this.signatures.set(tenantId, signature);
    this.log.info({ tenantId, geofences: this.forTenant(tenantId).index.size, changed: geofenceIds?.length ?? 'all' }, 'geofences reloaded');
  }

  /** Per tenant: its rules' digest, geofence count and latest change. */
  private async currentSignatures(tenantId: string | null = null): Promise<Map<string, string>> {
    const rows = await this.pool.query<{ tenant_id: string; signature: string }>(
      `SELECT coalesce(t.id, g.tenant_id) AS tenant_id,
              concat_ws('/', md5(t.rules::text), g.n, g.latest) AS signature
         FROM (SELECT * FROM tenants WHERE $1::text IS NULL OR id = $1) t
         FULL JOIN (SELECT tenant_id, count(*) AS n, max(updated_at) AS latest FROM geofences
                     WHERE $1::text IS NULL OR tenant_id = $1 GROUP BY tenant_id) g
           ON g.tenant_id = t.id`,
      [tenantId],
    );
    return new Map(rows.rows.map((r) => [r.tenant_id, r.signature]));
  }

  /** Reloads the tenants whose geofences or rules changed (a missed notice), and drops the gone. */
  async reloadAll(): Promise<void> {
    const current = await this.currentSignatures();
    const next = new Map<string, TenantCatalog>();
    for (const [tenantId, signature] of current) {
      const known = this.tenants.get(tenantId);
      next.set(tenantId, known !== undefined && this.signatures.get(tenantId) === signature ? known : await this.loadTenant(tenantId));
    }
    this.tenants = next;
    this.signatures = current;
  }

  private async loadTenant(tenantId: string): Promise<TenantCatalog> {
    const [rows, tenant] = await Promise.all([
      storedGeofences(this.pool, tenantId),
      this.pool.query<{ rules: unknown }>('SELECT rules FROM tenants WHERE id = $1', [tenantId]),
    ]);
    const geofences = new Map((await this.prepare(tenantId, rows)).map((g) => [g.id, g]));
    const { rules, problems } = resolveRules(tenant.rows[0]?.rules ?? {});
    if (problems.length > 0) this.log.warn({ tenantId, problems }, 'tenant rules have problems; defaults used for those keys');
    return { geofences, index: new GeofenceIndex(geofences.values()), rules };
  }

  /** Parses and prepares stored geofences, on the geometry thread when there is one. */
  private async prepare(tenantId: string, rows: StoredGeofence[]): Promise<Geofence[]> {
    const { geofences, invalid } = this.geometry
      ? await this.geometry.prepare(tenantId, rows).then((p) => ({ geofences: p.geofences.map(fromTransfer), invalid: p.invalid }))
      : prepareStored(tenantId, rows);
    // Stored features were validated on the way in; one that no longer parses is skipped, loudly.
    for (const { id, message } of invalid) this.log.error({ tenantId, id, err: message }, 'stored geofence is invalid; skipped');
    return geofences;
  }
}
