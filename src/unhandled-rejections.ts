import type { Logger } from 'pino';
import type { Metrics } from './metrics.js';

/**
 * The module a rejection came from, from the first frame of its stack in fencewire's own code
 * (`webhooks/http-sender`), else the error's code or name: a label with few values, for a metric.
 */
export function rejectionSource(reason: unknown): string {
  const stack = reason instanceof Error ? reason.stack ?? '' : '';
  const own = /\/(?:src|dist)\/([\w/-]+)\.[jt]s:\d+/.exec(stack);
  if (own) return own[1] as string;
  const code = (reason as { code?: unknown } | null)?.code;
  if (typeof code === 'string') return code;
  return reason instanceof Error ? reason.name : 'unknown';
}

/**
 * The last line of defence: a promise rejection that no code handled is logged with its source
 * and counted (`fencewire_unhandled_errors_total`), instead of Node's default of exiting, which
 * would let one endpoint's or tenant's fault stop ingest, the API and webhooks for everyone.
 * Every path is meant to handle its own errors; a count above zero is a bug to report. Returns
 * the function that removes the handler.
 */
export function catchUnhandledRejections(log: Logger, metrics: Metrics): () => void {
  const onRejection = (reason: unknown) => {
    const source = rejectionSource(reason);
    metrics.unhandledErrors.inc({ source });
    log.error({ err: reason, source }, 'unhandled promise rejection; the process goes on');
  };
  process.on('unhandledRejection', onRejection);
  return () => process.off('unhandledRejection', onRejection);
}
