import { nkeys } from '@nats-io/transport-node';

/** What a tenant's devices and gateways need to publish their telemetry, and nothing more. */
export interface TenantCredentials {
  /** The nkey seed: the gateway's secret, given to it and to no one else. */
  readonly seed: string;
  /** The inbox prefix the gateway's client must use (JetStream's acknowledgements come there). */
  readonly inboxPrefix: string;
  /** The entry for the users list of the NATS server's authorization (docs/nats-server.conf). */
  readonly userEntry: string;
}

/**
 * The NATS permissions of a tenant's devices: publish to `telemetry.<tenant>.<device>`, read only
 * their own inbox; no other tenant's subjects and nothing of fencewire's (events, leases,
 * streams; commands are signed). nats-server checks a publish against the subject as mapped into
 * its partition (`telemetry.<tenant>.<device>.<p>`), so that form is allowed too: a device that
 * writes it itself with a partition other than its own is dead-lettered as `invalid_subject`.
 */
export function tenantUserEntry(tenantId: string, publicKey: string): string {
  return `{ nkey: ${publicKey}, permissions: { publish: ["telemetry.${tenantId}.*", "telemetry.${tenantId}.*.*"], subscribe: ["_INBOX_${tenantId}.>"] } }`;
}

/** New credentials for a tenant's gateways: a fresh user nkey. */
export function newTenantCredentials(tenantId: string): TenantCredentials {
  const user = nkeys.createUser();
  return { seed: new TextDecoder().decode(user.getSeed()), inboxPrefix: `_INBOX_${tenantId}`, userEntry: tenantUserEntry(tenantId, user.getPublicKey()) };
}
