import { lookup } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';

/**
 * Addresses a webhook may not reach unless the operator allows it (WEBHOOK_ALLOW_PRIVATE):
 * loopback, private, link-local, carrier-grade NAT, unspecified and multicast ranges, so that
 * an endpoint URL cannot be used to probe the network fencewire runs in.
 */
const FORBIDDEN = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16],
  ['172.16.0.0', 12], ['192.168.0.0', 16], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) FORBIDDEN.addSubnet(network, prefix, 'ipv4');
for (const [network, prefix] of [
  ['::', 128], ['::1', 128], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8],
] as const) FORBIDDEN.addSubnet(network, prefix, 'ipv6');

export function isForbiddenAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return FORBIDDEN.check(address, 'ipv4');
  if (family !== 6) return false;
  // An IPv4-mapped IPv6 address (::ffff:10.0.0.1) reaches the IPv4 host.
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return mapped ? FORBIDDEN.check(mapped[1] as string, 'ipv4') : FORBIDDEN.check(address, 'ipv6');
}

/** The error code of a refused address, on the error the lookup returns. */
export const FORBIDDEN_ADDRESS = 'forbidden_address';

/**
 * A DNS lookup for `http.request` that fails on forbidden addresses. The check sits in the
 * connection's own lookup, so the address checked is the address connected to: a name that
 * resolves differently between a check and the request (DNS rebinding) gains nothing.
 */
export const guardedLookup: LookupFunction = (hostname, options, callback) => {
  lookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) return callback(err, '', 0);
    const refused = addresses.find((a) => isForbiddenAddress(a.address));
    if (refused) {
      const error = Object.assign(new Error(`${hostname} resolves to ${refused.address}, a private, loopback or link-local address; set WEBHOOK_ALLOW_PRIVATE=true to allow it`), { code: FORBIDDEN_ADDRESS });
      return callback(error, '', 0);
    }
    if (options.all) return (callback as unknown as (e: null, a: typeof addresses) => void)(null, addresses);
    const first = addresses[0];
    if (!first) return callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), '', 0);
    return callback(null, first.address, first.family);
  });
};

/**
 * Null when `url` may be used as an endpoint, else why not: it must be http(s), and unless
 * private addresses are allowed, no address its host resolves to may be a forbidden one.
 */
export async function webhookUrlError(url: string, allowPrivate: boolean): Promise<string | null> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return `url "${url}" is not an absolute URL`;
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return `url must use http or https, not ${parsed.protocol}`;
  if (parsed.username !== '' || parsed.password !== '') return 'url must not carry credentials; use headers for authentication';
  if (allowPrivate) return null;
  const host = parsed.hostname.replace(/^\[|\]$/g, '');
  return new Promise((resolve) => {
    // A name that does not resolve yet is accepted: its attempts will fail and be logged.
    guardedLookup(host, { all: true }, (err) => {
      resolve((err as NodeJS.ErrnoException | null)?.code === FORBIDDEN_ADDRESS ? `url ${err?.message}` : null);
    });
  });
}
