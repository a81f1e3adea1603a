import { InvalidArgumentError } from '@nats-io/transport-node';
import { UnstorableError } from '../errors.js';

/**
 * True when a publish failed for what the message is, not for the state of NATS: the client
 * refuses it before sending (over the server's max_payload, a header it will not write).
 * Publishing it again fails the same way, so it is never retried.
 */
function messageRefused(err: unknown): boolean {
  return err instanceof InvalidArgumentError;
}

/**
 * A publish's rejection handler: a message NATS refuses for what it is becomes an
 * UnstorableError naming `what`, so that callers know not to try it again; any other error
 * passes through.
 */
export function refusedAsUnstorable(what: string): (err: Error) => never {
  return (err) => {
    throw messageRefused(err) ? new UnstorableError(`NATS refuses ${what}: ${err.message}`, { cause: err }) : err;
  };
}
