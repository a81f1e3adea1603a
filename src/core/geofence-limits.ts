/** Limits on what one tenant may keep (defaults in config.ts, set by environment variables). */
export interface GeofenceLimits {
  /** Positions in one geofence's rings, all parts together. */
  readonly maxVertices: number;
  /** Geofences per tenant. */
  readonly maxPerTenant: number;
  /** Positions over all of a tenant's geofences. */
  readonly maxTenantVertices: number;
}

/** A feature ready to store: its id filled in, its name, and its size. */
export interface GeofenceRow {
  readonly id: string;
  readonly name: string;
  readonly feature: object;
  readonly vertices: number;
}
