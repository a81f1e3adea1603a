import { createHmac, randomBytes } from 'node:crypto';

const SECRET_PREFIX = 'whsec_';

/** A new endpoint secret: `whsec_` and base64 of 24 random bytes (contract section 5). */
export function generateSecret(): string {
  return `${SECRET_PREFIX}${randomBytes(24).toString('base64')}`;
}

/** Null when the secret can key both signatures, else why not. */
export function secretError(secret: string): string | null {
  if (!secret.startsWith(SECRET_PREFIX)) return 'secret must start with "whsec_" followed by base64 (Standard Webhooks)';
  const key = secret.slice(SECRET_PREFIX.length);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(key) || key.length % 4 !== 0) return 'the part of secret after "whsec_" must be base64';
  const bytes = Buffer.from(key, 'base64');
  if (bytes.length < MIN_SECRET_BYTES) return `secret must hold at least ${MIN_SECRET_BYTES} bytes after "whsec_" (base64 of random bytes; omit it to have one generated)`;
  if (!looksRandom(bytes)) return 'secret is not random: its bytes repeat or run in sequence; use base64 of random bytes, or omit it to have one generated';
  return null;
}

const MIN_SECRET_BYTES = 24;

/**
 * A cheap test that rules out the secrets people type rather than generate: too few distinct
 * bytes (24 random bytes have about 23 distinct values; fewer than 12 happens with a chance
 * far below 1e-9), or a constant step between bytes (`abcdef...`, `0123...`).
 */
function looksRandom(bytes: Buffer): boolean {
  if (new Set(bytes).size < 12) return false;
  const step = (i: number) => ((bytes[i + 1] as number) - (bytes[i] as number) + 256) % 256;
  return bytes.some((_, i) => i + 1 < bytes.length && step(i) !== step(0));
}

export interface SignedDelivery {
  readonly eventId: string;
  readonly eventType: string;
  /** The exact bytes of the body, as UTF-8 text. */
  readonly body: string;
  readonly attempt: number;
}

/**
 * The headers of one attempt (contract section 5): fencewire's `X-Signature`, keyed with the
 * whole secret string, and the Standard Webhooks set, keyed with the bytes the base64 after
 * `whsec_` decodes to. Both sign the timestamp with the body, so a captured request cannot be
 * replayed once a receiver's tolerance (five minutes, typically) is over.
 */
export function signatureHeaders(secret: string, delivery: SignedDelivery, timestampSeconds: number): Record<string, string> {
  const timestamp = String(timestampSeconds);
  const legacy = createHmac('sha256', Buffer.from(secret, 'utf8')).update(`${timestamp}.${delivery.body}`).digest('hex');
  const standardKey = Buffer.from(secret.slice(SECRET_PREFIX.length), 'base64');
  const standard = createHmac('sha256', standardKey).update(`${delivery.eventId}.${timestamp}.${delivery.body}`).digest('base64');
  return {
    'content-type': 'application/json',
    'x-event-id': delivery.eventId,
    'x-event-type': delivery.eventType,
    'x-timestamp': timestamp,
    'x-signature': legacy,
    'x-attempt': String(delivery.attempt),
    'webhook-id': delivery.eventId,
    'webhook-timestamp': timestamp,
    'webhook-signature': `v1,${standard}`,
  };
}
