import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { UsageError } from '../errors.js';
import { ROLES, startServer, type Role } from '../server.js';

/** Contract section 7: exit within 10 seconds of SIGTERM, whatever happens. */
const HARD_EXIT_MS = 10_000;

export function parseRoles(role: string | undefined): Role[] {
  if (role === undefined) return [...ROLES];
  if (!(ROLES as readonly string[]).includes(role)) throw new UsageError(`--role "${role}" is not one of ${ROLES.join(', ')}`);
  return [role as Role];
}

/** `fencewire serve`: runs until SIGTERM or SIGINT, then shuts down cleanly. */
export async function serveCommand(config: Config, log: Logger, role: string | undefined): Promise<void> {
  const server = await startServer(config, log, parseRoles(role));
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
  const committed = await server.stop();
  process.exitCode = committed ? 0 : 1;
}
