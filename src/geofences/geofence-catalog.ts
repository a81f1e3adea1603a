import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import type pg from 'pg';
import type { Logger } from 'pino';
import { geofenceFromFeature, isGeofenceError, type Geofence } from '../core/geometry/geofence.js';
import { GeofenceIndex } from '../core/geometry/geofence-index.js';
import { DEFAULT_RULES, resolveRules, type RuleConfig } from '../core/rule-config.js';
import type { Topology } from '../bus/topology.js';
import type { RuleSource, TenantRules } from '../pipeline/rule-engine.js';

const EMPTY: TenantRules = { index: new GeofenceIndex(), rules: DEFAULT_RULES };
/** A missed change notification (a reconnect at the wrong moment) heals within this time. */
const FULL_RELOAD_MS = 60_000;

/** Tells every running processor that a tenant's geofences or rules changed. */
export function notifyGeofencesChanged(nc: NatsConnection, t: Topology, tenantId: string): Promise<void> {
  nc.publish(t.geofenceChanges, tenantId);
  return nc.flush();
}

/**
 * Every tenant's geofences and rules, loaded from PostgreSQL at start and reloaded per tenant
 * when a change notification arrives on NATS, so that an import or an API change reaches the
 * running processor within a second, without a restart.
 */
export class GeofenceCatalog implements RuleSource {
  private tenants = new Map<string, TenantRules>();
  /** Per tenant, a digest of its geofences and rules as last loaded: unchanged ones are not rebuilt. */
  private signatures = new Map<string, string>();
  private subscription: Subscription | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly pool: pg.Pool, private readonly log: Logger) {}

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
        if (err) return;
        const tenantId = msg.string();
        this.reloadTenant(tenantId).catch((e: Error) => this.log.warn({ tenantId, err: e.message }, 'geofence reload failed'));
      },
    });
    this.timer = setInterval(() => {
      this.reloadAll().catch((e: Error) => this.log.warn({ err: e.message }, 'geofence reload failed'));
    }, FULL_RELOAD_MS);
  }

  stop(): void {
    this.subscription?.unsubscribe();
    if (this.timer) clearInterval(this.timer);
  }

  /** Reloads the tenants whose geofences or rules changed (a missed notice), and drops the gone. */
  async reloadAll(): Promise<void> {
    const rows = await this.pool.query<{ tenant_id: string; signature: string }>(
      `SELECT coalesce(t.id, g.tenant_id) AS tenant_id,
              concat_ws('/', md5(t.rules::text), g.n, g.latest) AS signature
         FROM tenants t
         FULL JOIN (SELECT tenant_id, count(*) AS n, max(updated_at) AS latest FROM geofences GROUP BY tenant_id) g
           ON g.tenant_id = t.id`,
    );
    const next = new Map<string, TenantRules>();
    const signatures = new Map<string, string>();
    for (const { tenant_id: tenantId, signature } of rows.rows) {
      const known = this.tenants.get(tenantId);
      next.set(tenantId, known !== undefined && this.signatures.get(tenantId) === signature ? known : await this.loadTenant(tenantId));
      signatures.set(tenantId, signature);
    }
    this.tenants = next;
    this.signatures = signatures;
  }

  async reloadTenant(tenantId: string): Promise<void> {
    this.tenants.set(tenantId, await this.loadTenant(tenantId));
    this.signatures.delete(tenantId);
    this.log.info({ tenantId, geofences: this.forTenant(tenantId).index.size }, 'geofences reloaded');
  }

  private async loadTenant(tenantId: string): Promise<TenantRules> {
    const [fences, tenant] = await Promise.all([
      this.pool.query<{ id: string; feature: unknown }>('SELECT id, feature FROM geofences WHERE tenant_id = $1', [tenantId]),
      this.pool.query<{ rules: unknown }>('SELECT rules FROM tenants WHERE id = $1', [tenantId]),
    ]);
    const geofences: Geofence[] = [];
    for (const row of fences.rows) {
      const geofence = geofenceFromFeature(tenantId, row.feature, row.id);
      // Stored features were validated on the way in; one that no longer parses is skipped, loudly.
      if (isGeofenceError(geofence)) this.log.error({ tenantId, id: row.id, err: geofence.message }, 'stored geofence is invalid; skipped');
      else geofences.push(geofence);
    }
    const { rules, problems } = resolveRules(tenant.rows[0]?.rules ?? {});
    if (problems.length > 0) this.log.warn({ tenantId, problems }, 'tenant rules have problems; defaults used for those keys');
    return { index: new GeofenceIndex(geofences), rules };
  }
}
