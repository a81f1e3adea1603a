import type { GeofenceIndex } from './geometry/geofence-index.js';
import type { RuleConfig } from './rule-config.js';

/** A tenant's geofences and rule thresholds, as the engine needs them for one fix. */
export interface TenantRules {
  readonly index: GeofenceIndex;
  readonly rules: RuleConfig;
}

/** Where the rule engine finds a tenant's rules (the geofence catalog, or a test's double). */
export interface RuleSource {
  forTenant(tenantId: string): TenantRules;
  /** Every tenant with devices known or rules set, for the offline sweep. */
  rulesFor(tenantId: string): RuleConfig;
}

/** What changed: a tenant's rules or everything (no ids), or the geofences named. */
export interface GeofenceChange {
  readonly tenantId: string;
  readonly geofenceIds: readonly string[] | null;
}
