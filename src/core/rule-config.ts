import { isValidToken } from './token.js';

/**
 * A limit on one numeric report attribute (the cold chain's `temperature`): `above` and/or
 * `below`, held for `minDurationS` before it counts, cleared only `hysteresis` (in the
 * attribute's own unit) back inside the limit, so that a value hovering at the limit does not flap.
 */
export interface AttributeThreshold {
  readonly attribute: string;
  readonly above: number | null;
  readonly below: number | null;
  readonly minDurationS: number;
  readonly hysteresis: number;
}

/**
 * Per-tenant rule thresholds, with the defaults every tenant starts from. Units are in the
 * names; `docs/rules.md` explains each.
 */
export interface RuleConfig {
  /** Metres a device inside a geofence must be outside it before it leaves, for geofences without hysteresis_m. */
  readonly geofenceHysteresisM: number;
  /** Rule speed limit, km/h; null disables overspeed outside geofences with a speed_limit. */
  readonly overspeedLimitKmh: number | null;
  /** km/h above the limit before overspeed starts; it ends at or under the limit itself. */
  readonly overspeedToleranceKmh: number;
  /** km/h above a report's posted_speed_limit before overspeed starts. */
  readonly postedSpeedToleranceKmh: number;
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
  /** Seconds a device must be outside its route (its fixes all outside) before route.deviated. */
  readonly routeDeviationMinS: number;
  /** Seconds without a report before device.offline. */
  readonly offlineTimeoutS: number;
  /** Seconds between one device's device.heartbeat events; 0 turns them off. */
  readonly heartbeatIntervalS: number;
  /** position.recorded for every stored fix (off by default: one event per fix). */
  readonly positionRecorded: boolean;
  /** positions.batch, one summary per committed batch (off by default). */
  readonly positionsBatch: boolean;
  readonly attributeThresholds: readonly AttributeThreshold[];
  /**
   * Seconds a fix may be older than its device's newest and still be run through the rules in
   * its place, the events after it corrected (src/core/late-fixes.ts); 0 keeps late fixes out of
   * the rules. At most MAX_LATE_FIX_WINDOW_S.
   */
  readonly lateFixWindowS: number;
  /**
   * Rules for devices with a tag: the tenant's rules with some settings changed. A device takes
   * the first override whose tag it has (in the order given), else the tenant's rules.
   */
  readonly ruleOverrides: readonly TagOverride[];
}

/** The rules of the devices with `tag` (one entry of ruleOverrides, resolved). */
export interface TagOverride {
  readonly tag: string;
  readonly rules: RuleConfig;
}

export const DEFAULT_RULES: RuleConfig = Object.freeze({
  geofenceHysteresisM: 0,
  overspeedLimitKmh: null,
  overspeedToleranceKmh: 5,
  postedSpeedToleranceKmh: 5,
  overspeedMinDurationS: 10,
  idleSpeedKmh: 3,
  idleMinDurationS: 300,
  tripMovingSpeedKmh: 5,
  tripLongStopS: 900,
  tripMinDistanceKm: 0.2,
  routeDeviationMinS: 30,
  offlineTimeoutS: 600,
  heartbeatIntervalS: 86_400,
  positionRecorded: false,
  positionsBatch: false,
  attributeThresholds: Object.freeze([]),
  lateFixWindowS: 86_400,
  ruleOverrides: Object.freeze([]),
});

/** The longest late-fix window a tenant may set: seven days. */
export const MAX_LATE_FIX_WINDOW_S = 7 * 86_400;

/** At most this many attribute thresholds per tenant (a report carries at most 32 attributes). */
export const MAX_ATTRIBUTE_THRESHOLDS = 32;

/** At most this many rule overrides per tenant (a device has at most 32 tags). */
export const MAX_RULE_OVERRIDES = 32;

/** Settings of the whole tenant, which an override by tag cannot change. */
const TENANT_WIDE = ['ruleOverrides', 'positionsBatch', 'lateFixWindowS'];

const ATTRIBUTE_NAME = /^[A-Za-z0-9_.-]{1,64}$/;
const THRESHOLD_KEYS = ['attribute', 'above', 'below', 'minDurationS', 'hysteresis'];

const isNumber = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);

/** One threshold of `attributeThresholds[index]`, or the problems with it. */
function resolveThreshold(value: unknown, index: number, problems: string[]): AttributeThreshold | null {
  const where = `attributeThresholds[${index}]`;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    problems.push(`${where} must be an object such as {"attribute": "temperature", "above": 8, "minDurationS": 60, "hysteresis": 0.5}`);
    return null;
  }
  const fields = value as Record<string, unknown>;
  const before = problems.length;
  for (const key of Object.keys(fields)) if (!THRESHOLD_KEYS.includes(key)) problems.push(`${where} has an unknown setting ${key}`);
  if (typeof fields.attribute !== 'string' || !ATTRIBUTE_NAME.test(fields.attribute)) problems.push(`${where}.attribute must be an attribute name (1-64 of A-Z a-z 0-9 _ . -)`);
  for (const key of ['above', 'below'] as const) {
    if (fields[key] !== undefined && fields[key] !== null && !isNumber(fields[key])) problems.push(`${where}.${key} must be a number`);
  }
  const above = isNumber(fields.above) ? fields.above : null;
  const below = isNumber(fields.below) ? fields.below : null;
  if (above === null && below === null) problems.push(`${where} needs a limit: above, below or both`);
  if (above !== null && below !== null && below >= above) problems.push(`${where}.below (${below}) must be less than above (${above})`);
  for (const key of ['minDurationS', 'hysteresis'] as const) {
    if (fields[key] !== undefined && !(isNumber(fields[key]) && fields[key] >= 0)) problems.push(`${where}.${key} must be a number >= 0`);
  }
  if (problems.length > before) return null;
  return Object.freeze({
    attribute: fields.attribute as string, above, below,
    minDurationS: (fields.minDurationS as number | undefined) ?? 0, hysteresis: (fields.hysteresis as number | undefined) ?? 0,
  });
}

function resolveThresholds(value: unknown, problems: string[]): readonly AttributeThreshold[] | null {
  if (!Array.isArray(value)) {
    problems.push('attributeThresholds must be an array of thresholds');
    return null;
  }
  if (value.length > MAX_ATTRIBUTE_THRESHOLDS) {
    problems.push(`attributeThresholds has ${value.length} entries; at most ${MAX_ATTRIBUTE_THRESHOLDS} are allowed`);
    return null;
  }
  const thresholds = value.map((item, index) => resolveThreshold(item, index, problems));
  const names = thresholds.flatMap((t) => (t === null ? [] : [t.attribute]));
  const repeated = names.filter((name, i) => names.indexOf(name) !== i);
  if (repeated.length > 0) problems.push(`attributeThresholds names ${repeated[0]} twice; give one entry both limits`);
  return thresholds.every((t) => t !== null) && repeated.length === 0 ? Object.freeze(thresholds as AttributeThreshold[]) : null;
}

/** Puts each setting of `settings` on `rules`, checked; `where` prefixes the problems' names. */
function applySettings(rules: Record<string, unknown>, settings: Record<string, unknown>, problems: string[], where: string): void {
  for (const [key, value] of Object.entries(settings)) {
    const name = `${where}${key}`;
    if (!(key in DEFAULT_RULES)) problems.push(`unknown rule setting ${name}`);
    else if (key === 'attributeThresholds') rules[key] = resolveThresholds(value, problems) ?? rules[key];
    else if (key === 'ruleOverrides') continue;
    else if (typeof DEFAULT_RULES[key as keyof RuleConfig] === 'boolean') {
      if (typeof value === 'boolean') rules[key] = value;
      else problems.push(`${name} must be true or false`);
    } else if (value === null && key === 'overspeedLimitKmh') rules[key] = null;
    else if (!isNumber(value) || value < 0) problems.push(`${name} must be a number >= 0`);
    else if (key === 'lateFixWindowS' && value > MAX_LATE_FIX_WINDOW_S) problems.push(`lateFixWindowS must be at most ${MAX_LATE_FIX_WINDOW_S} (seven days)`);
    else rules[key] = value;
  }
}

/** `ruleOverrides`: each `{"tag", ...settings}` over the tenant's rules, or the problems with them. */
function resolveOverrides(value: unknown, tenant: Readonly<Record<string, unknown>>, problems: string[]): readonly TagOverride[] {
  if (!Array.isArray(value) || value.length > MAX_RULE_OVERRIDES) {
    problems.push(`ruleOverrides must be an array of at most ${MAX_RULE_OVERRIDES} overrides such as {"tag": "reefer", "overspeedLimitKmh": 80}`);
    return [];
  }
  const resolved: TagOverride[] = [];
  for (const [index, item] of value.entries()) {
    const where = `ruleOverrides[${index}]`;
    const { tag, ...settings } = (item !== null && typeof item === 'object' && !Array.isArray(item) ? item : {}) as Record<string, unknown>;
    if (typeof tag !== 'string' || !isValidToken(tag)) {
      problems.push(`${where}.tag must be a device tag (1-64 of A-Z a-z 0-9 _ -)`);
      continue;
    }
    const tenantWide = Object.keys(settings).filter((key) => TENANT_WIDE.includes(key));
    if (tenantWide.length > 0) problems.push(`${where} cannot set ${tenantWide.join(', ')}: a tenant-wide setting`);
    const rules: Record<string, unknown> = { ...tenant };
    applySettings(rules, Object.fromEntries(Object.entries(settings).filter(([key]) => !TENANT_WIDE.includes(key))), problems, `${where}.`);
    resolved.push(Object.freeze({ tag, rules: Object.freeze(rules) as unknown as RuleConfig }));
  }
  return Object.freeze(resolved);
}

/**
 * A tenant's rules: its stored overrides over the defaults, and its rule overrides by device tag
 * over those. Unknown keys and values of the wrong type are reported, not silently used.
 */
export function resolveRules(overrides: unknown): { rules: RuleConfig; problems: string[] } {
  const problems: string[] = [];
  const rules: Record<string, unknown> = { ...DEFAULT_RULES };
  if (overrides !== null && typeof overrides === 'object' && !Array.isArray(overrides)) {
    const settings = overrides as Record<string, unknown>;
    applySettings(rules, settings, problems, '');
    if (settings.ruleOverrides !== undefined) rules.ruleOverrides = resolveOverrides(settings.ruleOverrides, rules, problems);
  }
  return { rules: Object.freeze(rules) as unknown as RuleConfig, problems };
}

/** The rules of a device with these tags: the first override whose tag it has, else the tenant's. */
export function rulesForTags(rules: RuleConfig, tags: readonly string[] | undefined): RuleConfig {
  if (rules.ruleOverrides.length === 0 || tags === undefined || tags.length === 0) return rules;
  return rules.ruleOverrides.find((o) => tags.includes(o.tag))?.rules ?? rules;
}
