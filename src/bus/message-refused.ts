import { InvalidArgumentError } from '@nats-io/transport-node';

/**
 * True when a publish failed for what the message is, not for the state of NATS: the client
 * refuses it before sending (over the server's max_payload, a header it will not write).
 * Publishing it again fails the same way, so it is never retried.
 */
export function messageRefused(err: unknown): boolean {
  return err instanceof InvalidArgumentError;
}
