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

export function matchesSubscription(patterns: readonly string[], eventType: string): boolean {
  return patterns.some((pattern) => {
    if (pattern === '*' || pattern === eventType) return true;
    return pattern.endsWith('.*') && eventType.startsWith(pattern.slice(0, -1));
  });
}
