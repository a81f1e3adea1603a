import type { Logger } from 'pino';
import type { Encoding, RejectedReport } from '../decode/message.js';
import { UnstorableError } from '../errors.js';
import type { Metrics } from '../metrics.js';
import { retryUpTo, type RetryLimits } from '../retry.js';
import type { TelemetryMessage } from '../decode/telemetry-message.js';

/**
 * A dead letter is tried about a minute (back-off capped at 5 s) before it is dropped and
 * counted, and not again when NATS refuses it for what it is.
 */
const DEAD_LETTER_LIMITS: RetryLimits = { tries: 20, retryable: (err) => !(err instanceof UnstorableError) };

/**
 * Stores a refused report of a message on the dead-letter subject, retried in place; dropped,
 * logged and counted when it cannot be stored. Never rejects.
 */
export async function storeDeadLetter(
  msg: TelemetryMessage, tenantId: string | null, refused: RejectedReport, encoding: Encoding, log: Logger, metrics: Metrics,
): Promise<void> {
  // Retried in place rather than nak'ed: a redelivery would come back behind newer fixes of
  // the same device, and the rules would take its good fixes for late ones. Not forever: the
  // batch's acknowledgement waits for it, and so does every batch of the partition after it.
  const outcome = await retryUpTo(() => msg.deadLetter(tenantId, refused, encoding), (err, _attempt, delay) => {
    log.warn({ err: err.message, subject: msg.subject, retryInMs: delay }, 'dead-letter publish failed; retrying');
    msg.working();
  }, DEAD_LETTER_LIMITS);
  metrics.fixesRejected.inc({ code: refused.rejection.code });
  if (outcome.done) return;
  log.error({ err: outcome.error.message, subject: msg.subject, code: refused.rejection.code, index: refused.index }, 'dead letter dropped: it could not be published');
  metrics.unstorable.inc({ kind: 'dead_letter' });
}
