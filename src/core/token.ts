/**
 * A token of the wire contract: tenant, device and driver ids, 1-64 characters of
 * `[A-Za-z0-9_-]` (they are subject tokens, so no dots, wildcards or spaces). The API's schemas
 * use its source as their pattern.
 */
export const TOKEN = /^[A-Za-z0-9_-]{1,64}$/;

/** True when `token` is a valid tenant, device or driver id. */
export function isValidToken(token: string): boolean {
  return TOKEN.test(token);
}
