import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { UsageError } from '../errors.js';
import { ROLES, startServer, type Role } from '../server.js';
import { answerMetrics, IngestWorkers, leaveWithParent, WORKER_ENV } from './ingest-workers.js';

/** Contract section 7: exit within 10 seconds of SIGTERM, whatever happens. */
const HARD_EXIT_MS = 10_000;

export function parseRoles(role: string | undefined): Role[] {
  if (role === undefined) return [...ROLES];
  if (!(ROLES as readonly string[]).includes(role)) throw new UsageError(`--role "${role}" is not one of ${ROLES.join(', ')}`);
  return [role as Role];
}

export function parseWorkers(value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const workers = Number(value);
  if (!Number.isInteger(workers) || workers < 1 || workers > 64) throw new UsageError(`--workers "${value}" must be a whole number from 1 to 64`);
  return workers;
}

/**
 * `fencewire serve`: runs until SIGTERM or SIGINT, then shuts down cleanly. With more than one
 * worker, ingest runs in that many child processes (each a processor leasing its share of the
 * partitions) and this process serves the other roles.
 */
export async function serveCommand(config: Config, log: Logger, role: string | undefined, workersFlag: string | undefined): Promise<void> {
  const asWorker = process.env[WORKER_ENV] !== undefined;
  if (asWorker) leaveWithParent();
  const roles = parseRoles(role);
  const workerCount = parseWorkers(workersFlag, config.ingest.workers);
  const workers = roles.includes('ingest') && workerCount > 1 ? IngestWorkers.start(workerCount, log) : null;
  const server = await startServer(config, log, workers ? roles.filter((r) => r !== 'ingest') : roles, workers ? { moreMetrics: () => workers.metrics() } : { http: !asWorker });
  if (asWorker) answerMetrics(server.metrics.registry);
  await new Promise<void>((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      log.info({ signal }, 'shutting down');
      setTimeout(() => {
        log.error('shutdown took longer than 10 s; exiting');
        process.exit(1);
      }, HARD_EXIT_MS).unref();
      resolve();
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  });
  const [committed, workersCommitted] = await Promise.all([server.stop(), workers?.stop() ?? true]);
  process.exitCode = committed && workersCommitted ? 0 : 1;
}
