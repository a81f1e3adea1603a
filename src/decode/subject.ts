import { reject, type Rejection } from './rejection.js';

const TOKEN = /^[A-Za-z0-9_-]{1,64}$/;

export interface TelemetrySubject {
  readonly tenantId: string;
  readonly deviceId: string;
}

/** True when `token` is a valid tenant or device token (contract section 1). */
export function isValidToken(token: string): boolean {
  return TOKEN.test(token);
}

/**
 * Splits `telemetry.<tenant>.<device>` (after the namespace prefix, if any) into its tokens.
 * `prefix` is the part of the subject before the tenant, e.g. `telemetry.`.
 */
export function parseTelemetrySubject(subject: string, prefix: string): TelemetrySubject | Rejection {
  if (!subject.startsWith(prefix)) {
    return reject('invalid_subject', `subject "${subject}" does not start with "${prefix}"`);
  }
  const tokens = subject.slice(prefix.length).split('.');
  if (tokens.length !== 2) {
    return reject('invalid_subject', `subject "${subject}" must be ${prefix}<tenant>.<device>`);
  }
  const [tenantId, deviceId] = tokens as [string, string];
  for (const [what, token] of [['tenant', tenantId], ['device', deviceId]] as const) {
    if (!isValidToken(token)) {
      return reject('invalid_subject', `${what} token "${token}" must be 1-64 characters of [A-Za-z0-9_-]`);
    }
  }
  return { tenantId, deviceId };
}
