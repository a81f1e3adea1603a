import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { forMilliseconds, retryUpTo } from '../retry.js';

/** Where and as whom to connect (NATS_URL, NATS_USER, NATS_PASSWORD), and how long to wait for the server at start. */
export interface NatsSettings {
  readonly natsUrl: string;
  readonly natsUser: string | null;
  readonly natsPassword: string | null;
  readonly startupWaitMs: number;
}

/**
 * Connects to NATS as fencewire (NATS_USER and NATS_PASSWORD where the server has
 * authorization). The first connection is tried again with back-off for up to STARTUP_WAIT_MS:
 * in compose every service starts at once, and a migrate that gave up at once left them all
 * down. `serve`'s connections then reconnect forever; a one-shot command's do not.
 */
export async function connectNats(config: NatsSettings, log: Logger, name: string, serving = false): Promise<NatsConnection> {
  const outcome = await retryUpTo(
    () => connect({
      servers: config.natsUrl, name,
      ...(config.natsUser === null ? {} : { user: config.natsUser, pass: config.natsPassword ?? '' }),
      ...(serving ? { maxReconnectAttempts: -1 } : {}),
    }),
    (err, _attempt, delayMs) => log.warn({ err: err.message, retryInMs: delayMs, connection: name }, 'NATS is not answering yet; trying again'),
    forMilliseconds(config.startupWaitMs),
  );
  if (!outcome.done) throw outcome.error;
  const nc = outcome.value;
  // Said by the processes that run for good; a one-shot command need not repeat it.
  if (serving && nc.info?.auth_required !== true) {
    log.warn({ connection: name }, 'NATS requires no authorization: any client can publish commands, events and leases; use docs/nats-server.conf with users in production');
  }
  return nc;
}
