import { newTenantCredentials } from '../bus/tenant-credentials.js';
import { UsageError } from '../errors.js';
import { requiredTenant } from './tenant-option.js';

/**
 * `fencewire nats credentials --tenant ID`: a new nkey for a tenant's gateways. Prints the seed
 * and inbox prefix to give the gateway, and the users entry to add to the NATS configuration.
 * Nothing is stored: the server's configuration is where the permission lives.
 */
export function natsCommand(args: string[], tenantOption: string | undefined): void {
  if (args[0] !== 'credentials') throw new UsageError('usage: fencewire nats credentials --tenant ID');
  const tenant = requiredTenant(tenantOption);
  const credentials = newTenantCredentials(tenant);
  console.log([
    `# For the gateways of tenant ${tenant}: this nkey seed (secret: whoever has it can publish as the tenant)`,
    credentials.seed,
    `# and this inbox prefix for their NATS client (JetStream's acknowledgements arrive there): ${credentials.inboxPrefix}`,
    '# Add this entry to the users list of the NATS configuration (docs/nats-server.conf), then reload it (nats-server --signal reload):',
    credentials.userEntry,
  ].join('\n'));
}
