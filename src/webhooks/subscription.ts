/**
 * Which event types an endpoint subscribes to (contract section 5): exact types, `*` for all,
 * or a prefix ending in `.*` such as `geofence.*` (which matches `geofence.enter` but not
 * `geofences.x`).
 */
const PATTERN = /^(\*|[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*(\.\*)?)$/;

/** Null when the pattern is well formed, else why not. */
export function subscriptionPatternError(pattern: string): string | null {
  return PATTERN.test(pattern) ? null : `"${pattern}" is not an event type, "*" or a prefix such as "geofence.*"`;
}

/**
 * Types of one event per fix or per batch: an endpoint opts in by naming them (or `position.*`,
 * `positions.*`); `*` alone does not bring them, so that "everything" does not become every fix.
 */
export const OPT_IN_TYPES: readonly string[] = ['position.recorded', 'positions.batch'];

export function matchesSubscription(patterns: readonly string[], eventType: string): boolean {
  const optIn = OPT_IN_TYPES.includes(eventType);
  return patterns.some((pattern) => {
    if (pattern === eventType) return true;
    if (pattern === '*') return !optIn;
    return pattern.endsWith('.*') && eventType.startsWith(pattern.slice(0, -1));
  });
}
