import type { Logger } from 'pino';
import type { Geofence } from '../core/geometry/geofence.js';
import { GeofenceIndex } from '../core/geometry/geofence-index.js';
import { DEFAULT_RULES, resolveRules, type RuleConfig } from '../core/rule-config.js';
import type { GeofenceChange, RuleSource, TenantRules } from '../core/rule-source.js';
import { fromTransfer } from './geofence-transfer.js';
import { prepareStored } from './geofence-validation.js';
import type { GeometryThread } from './geometry-thread.js';
import type { StoredGeofence, GeofenceStore, TenantStore } from '../core/store-ports.js';

const EMPTY: TenantRules = { index: new GeofenceIndex(), rules: DEFAULT_RULES };
/** A missed change notification (a reconnect at the wrong moment) heals within this time. */
const FULL_RELOAD_MS = 60_000;

/** What the catalog reads: the geofences, their signatures and the tenants' rules. */
export type CatalogStore = Pick<GeofenceStore, 'stored' | 'signatures'> & Pick<TenantStore, 'rules'>;

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
  private unfollow: (() => void) | null = null;
  private timer: NodeJS.Timeout | null = null;
  /** Changes are applied one at a time, in the order they arrived. */
  private changes: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: CatalogStore,
    private readonly log: Logger,
    private readonly geometry: GeometryThread | null = null,
  ) {}

  forTenant(tenantId: string): TenantRules {
    return this.tenants.get(tenantId) ?? EMPTY;
  }

  rulesFor(tenantId: string): RuleConfig {
    return this.forTenant(tenantId).rules;
  }

  /** Loads everything, then follows the change notices `follow` delivers. */
  async start(follow: (onChange: (change: GeofenceChange) => void) => () => void): Promise<void> {
    await this.reloadAll();
    this.unfollow = follow((change) => void this.apply(change));
    this.timer = setInterval(() => {
      this.changes = this.changes.then(() => this.reloadAll()).catch((e: Error) => this.log.warn({ err: e.message }, 'geofence reload failed'));
    }, FULL_RELOAD_MS);
  }

  stop(): void {
    this.unfollow?.();
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
      for (const geofence of await this.prepare(tenantId, await this.store.stored(tenantId, geofenceIds))) geofences.set(geofence.id, geofence);
      this.tenants.set(tenantId, { geofences, index: new GeofenceIndex(geofences.values()), rules: known.rules });
    }
    const signature = (await this.store.signatures(tenantId)).get(tenantId);
    if (signature === undefined) this.signatures.delete(tenantId);
    else this.signatures.set(tenantId, signature);
    this.log.info({ tenantId, geofences: this.forTenant(tenantId).index.size, changed: geofenceIds?.length ?? 'all' }, 'geofences reloaded');
  }

  /** Reloads the tenants whose geofences or rules changed (a missed notice), and drops the gone. */
  async reloadAll(): Promise<void> {
    const current = await this.store.signatures(null);
    const next = new Map<string, TenantCatalog>();
    for (const [tenantId, signature] of current) {
      const known = this.tenants.get(tenantId);
      next.set(tenantId, known !== undefined && this.signatures.get(tenantId) === signature ? known : await this.loadTenant(tenantId));
    }
    this.tenants = next;
    this.signatures = current;
  }

  private async loadTenant(tenantId: string): Promise<TenantCatalog> {
    const [rows, stored] = await Promise.all([this.store.stored(tenantId), this.store.rules(tenantId)]);
    const geofences = new Map((await this.prepare(tenantId, rows)).map((g) => [g.id, g]));
    const { rules, problems } = resolveRules(stored);
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
