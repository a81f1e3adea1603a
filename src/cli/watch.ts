import type { Logger } from 'pino';
import { connectNats } from '../bus/connection.js';
import { topology } from '../bus/topology.js';
import type { Config } from '../config.js';
import { UsageError } from '../errors.js';
import { requiredTenant } from './tenant-option.js';

interface Envelope {
  readonly type: string;
  readonly device_id: string | null;
  readonly occurred_at: string;
  readonly data: Record<string, unknown>;
}

// C0 and C1 controls, DEL, and the bidirectional overrides and isolates that reorder what follows.
// eslint-disable-next-line no-control-regex -- the controls are what this looks for
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

/**
 * Text from an event (a tenant's geofence name, a device id) as a terminal may show it: a name
 * holding escape sequences could otherwise move the cursor, rewrite earlier lines or retitle the
 * window of whoever watches. Each such character is shown as its \u escape.
 */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** What an event says in one line: the time of its fix, the device, the type, and where. */
export function eventLine(body: string): string {
  let e: Envelope;
  try {
    e = JSON.parse(body) as Envelope;
  } catch {
    return printable(`(not an event envelope: ${body.slice(0, 80)})`);
  }
  const time = typeof e.occurred_at === 'string' ? e.occurred_at.slice(11, 19) : '--:--:--';
  const where = typeof e.data?.geofence_name === 'string' ? e.data.geofence_name : typeof e.data?.limit === 'number' ? `limit ${e.data.limit} km/h` : '';
  return printable([time, (e.device_id ?? '-').padEnd(10), String(e.type).padEnd(18), where].join('  ').trimEnd());
}

/**
 * `fencewire watch --tenant <id> [--duration S]`: prints a tenant's events as they are published,
 * one line each, until interrupted (or for S seconds). A live view: it keeps nothing, and events
 * published while it is not running are not shown (GET /v1/events has them).
 */
export async function watchCommand(config: Config, log: Logger, tenantOption: string | undefined, durationOption: string | undefined): Promise<void> {
  const tenant = requiredTenant(tenantOption);
  const durationS = durationOption === undefined ? null : Number(durationOption);
  if (durationS !== null && !(Number.isFinite(durationS) && durationS > 0)) throw new UsageError(`--duration "${durationOption}" must be a positive number of seconds`);
  const nc = await connectNats(config, log, 'fencewire-watch');
  const t = topology(config.namespace);
  const decoder = new TextDecoder();
  const sub = nc.subscribe(`${t.eventsPrefix}${tenant}.>`, {
    callback: (err, msg) => {
      if (err === null) console.log(eventLine(decoder.decode(msg.data)));
    },
  });
  await new Promise<void>((resolve) => {
    const timer = durationS === null ? null : setTimeout(resolve, durationS * 1000);
    const stop = () => {
      if (timer !== null) clearTimeout(timer);
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  sub.unsubscribe();
  await nc.drain();
}
