#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { loadConfig } from './config.js';
import { describeError, FencewireError, UsageError } from './errors.js';
import { createLogger } from './log.js';
import { migrateCommand } from './cli/migrate.js';
import { serveCommand } from './cli/serve.js';
import { simulateCommand } from './cli/simulate.js';
import { geofencesCommand } from './cli/geofences.js';
import { tenantCommand } from './cli/tenant.js';
import { keyCommand } from './cli/key.js';
import { watchCommand } from './cli/watch.js';
import { natsCommand } from './cli/nats.js';

const USAGE = `usage: fencewire <command> [options]

commands:
  serve [--role ingest|webhooks|api] [--workers N]
                              run fencewire (all roles by default) until SIGTERM; ingest
                              in N processes (default INGEST_WORKERS, a quarter of the cores)
  migrate                     create or upgrade the database and the NATS streams, then exit
  simulate [--devices N] [--rate FIXES_PER_S] [--duration S] [--tenant ID] [--seed N]
           [--area munich|san-francisco]
                              publish a simulated fleet
  watch --tenant ID [--duration S]
                              print a tenant's events as they happen, one line each
  geofences import <file.geojson> --tenant ID
                              load a FeatureCollection; running processors pick it up
  tenant create ID [--rules JSON]
                              create a tenant or set its rule thresholds (docs/rules.md)
  key create --tenant ID      print a new integration key for the HTTP API (shown once)
  key list --tenant ID        list a tenant's key ids, with when each was made or revoked
  key revoke KEY_ID --tenant ID
                              revoke a key at once
  nats credentials --tenant ID
                              print a new NATS nkey for a tenant's gateways, which may publish
                              only to telemetry.ID.<device>, and the server's entry for it

configuration: environment variables, see docs/configuration.md`;

async function main(argv: string[]): Promise<void> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      role: { type: 'string' },
      workers: { type: 'string' },
      devices: { type: 'string' },
      rate: { type: 'string' },
      duration: { type: 'string' },
      tenant: { type: 'string' },
      seed: { type: 'string' },
      area: { type: 'string' },
      rules: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const command = positionals[0];
  if (values.help || command === undefined) {
    console.log(USAGE);
    return;
  }
  const config = loadConfig();
  const log = createLogger(config.logLevel);
  switch (command) {
    case 'serve':
      return serveCommand(config, log, values.role, values.workers);
    case 'migrate':
      return migrateCommand(config, log);
    case 'simulate':
      return simulateCommand(config, log, values);
    case 'watch':
      return watchCommand(config, log, values.tenant, values.duration);
    case 'geofences':
      return geofencesCommand(config, log, positionals.slice(1), values.tenant);
    case 'tenant':
      return tenantCommand(config, log, positionals.slice(1), values.rules);
    case 'key':
      return keyCommand(config, log, positionals.slice(1), values.tenant);
    case 'nats':
      return natsCommand(positionals.slice(1), values.tenant);
    default:
      throw new UsageError(`unknown command "${command}"\n${USAGE}`);
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  console.error(`fencewire: ${describeError(err)}`);
  process.exitCode = err instanceof FencewireError && err.code === 'invalid_usage' ? 64 : 1;
});
