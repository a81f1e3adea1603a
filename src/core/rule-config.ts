/**
 * Per-tenant rule thresholds, with the defaults every tenant starts from. Units are in the
 * names; `docs/rules.md` explains each.
 */
export interface RuleConfig {
  /** Rule speed limit, km/h; null disables overspeed outside geofences with a speed_limit. */
  readonly overspeedLimitKmh: number | null;
  /** km/h above the limit before overspeed starts; it ends at or under the limit itself. */
  readonly overspeedToleranceKmh: number;
  /** Seconds the speed must stay over limit + tolerance before overspeed.started. */
  readonly overspeedMinDurationS: number;
  /** Under this speed, km/h, with the ignition on, a device is idling. */
  readonly idleSpeedKmh: number;
  /** Seconds of idling before idle.started. */
  readonly idleMinDurationS: number;
  /** At or over this speed, km/h, a device is moving (starts or continues a trip). */
  readonly tripMovingSpeedKmh: number;
  /** Seconds without movement that end a trip even with the ignition on. */
  readonly tripLongStopS: number;
  /** Trips shorter than this, km, are not reported. */
  readonly tripMinDistanceKm: number;
  /** Seconds without a report before device.offline. */
  readonly offlineTimeoutS: number;
}

export const DEFAULT_RULES: RuleConfig = Object.freeze({
  overspeedLimitKmh: null,
  overspeedToleranceKmh: 5,
  overspeedMinDurationS: 10,
  idleSpeedKmh: 3,
  idleMinDurationS: 300,
  tripMovingSpeedKmh: 5,
  tripLongStopS: 900,
  tripMinDistanceKm: 0.2,
  offlineTimeoutS: 600,
});

const KEYS = Object.keys(DEFAULT_RULES) as (keyof RuleConfig)[];

/**
 * A tenant's rules: its stored overrides over the defaults. Unknown keys and values of the wrong
 * type are reported, not silently used.
 */
export function resolveRules(overrides: unknown): { rules: RuleConfig; problems: string[] } {
  const problems: string[] = [];
  const rules: Record<string, number | null> = { ...DEFAULT_RULES };
  if (overrides !== null && typeof overrides === 'object' && !Array.isArray(overrides)) {
    for (const [key, value] of Object.entries(overrides)) {
      if (!KEYS.includes(key as keyof RuleConfig)) problems.push(`unknown rule setting ${key}`);
      else if (value === null && key === 'overspeedLimitKmh') rules[key] = null;
      else if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) problems.push(`${key} must be a number >= 0`);
      else rules[key] = value;
    }
  }
  return { rules: Object.freeze(rules) as unknown as RuleConfig, problems };
}
