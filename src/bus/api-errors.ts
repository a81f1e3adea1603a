import { JetStreamApiError } from '@nats-io/jetstream';

/** True when JetStream answered with one of these error codes (JetStreamApiCodes), never by the message's text. */
export function isJetStreamError(err: unknown, ...codes: readonly number[]): boolean {
  return err instanceof JetStreamApiError && codes.includes(err.code);
}
