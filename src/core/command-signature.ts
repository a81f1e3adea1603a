import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Commands (a dispatcher's driver assignment) travel down the device's own telemetry subject,
 * so that they reach its state in stream order through its partition's owner. A device may
 * publish there too, so a command counts only with this signature: an HMAC-SHA256, keyed with
 * fencewire's command key (kept in the database, read by the API and the processors), of the
 * tenant, device, command and payload. A device cannot forge one, nor move one to another device.
 */
export function signCommand(key: string, tenantId: string, deviceId: string, command: string, payload: Uint8Array): string {
  return createHmac('sha256', key).update(`${tenantId}\u0000${deviceId}\u0000${command}\u0000`).update(payload).digest('hex');
}

/** True when `signature` is the command's own (compared in constant time). */
export function commandSigned(key: string, tenantId: string, deviceId: string, command: string, payload: Uint8Array, signature: string | undefined): boolean {
  if (signature === undefined) return false;
  const expected = Buffer.from(signCommand(key, tenantId, deviceId, command, payload), 'utf8');
  const given = Buffer.from(signature, 'utf8');
  return given.length === expected.length && timingSafeEqual(given, expected);
}
