import { lookup } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { excerpt, FencewireError } from '../errors.js';

/**
 * Addresses a webhook may not reach unless the operator allows it (WEBHOOK_ALLOW_PRIVATE):
 * loopback, private, link-local, carrier-grade NAT, benchmarking, IETF protocol assignments,
 * reserved, broadcast, unspecified and multicast ranges, so that an endpoint URL cannot be used
 * to probe the network fencewire runs in.
 */
const FORBIDDEN = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16],
  ['172.16.0.0', 12], ['192.0.0.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['224.0.0.0', 4],
  // 240.0.0.0/4 (reserved) includes the broadcast address 255.255.255.255.
  ['240.0.0.0', 4],
] as const) FORBIDDEN.addSubnet(network, prefix, 'ipv4');
for (const [network, prefix] of [
  ['::', 128], ['::1', 128], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8],
  // Local-use NAT64 (RFC 8215): its translation may reach anything inside the network.
  ['64:ff9b:1::', 48],
] as const) FORBIDDEN.addSubnet(network, prefix, 'ipv6');

/** The eight 16-bit groups of an IPv6 address (a trailing dotted quad included). */
function ipv6Groups(address: string): number[] {
  let text = address.toLowerCase().replace(/%.*$/, '');
  const quad = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (quad) {
    const [a, b, c, d] = quad.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, quad.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') as [string, string] : [text, null];
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((g) => parseInt(g, 16)));
  const left = parse(head);
  if (tail === null) return left;
  const right = parse(tail);
  return [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
}

const dotted = (high: number, low: number) => `${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}`;

/**
 * The IPv4 address an IPv6 address reaches when it embeds one: IPv4-mapped (::ffff:a.b.c.d),
 * IPv4-compatible (::a.b.c.d), NAT64 (64:ff9b::a.b.c.d) and 6to4 (2002:aabb:ccdd::); else null.
 */
export function embeddedIpv4(address: string): string | null {
  const g = ipv6Groups(address);
  if (g.length !== 8) return null;
  const zeros = (from: number, to: number) => g.slice(from, to).every((x) => x === 0);
  if (zeros(0, 5) && (g[5] === 0xffff || g[5] === 0)) return dotted(g[6] as number, g[7] as number);
  if (g[0] === 0x64 && g[1] === 0xff9b && zeros(2, 6)) return dotted(g[6] as number, g[7] as number);
  if (g[0] === 0x2002) return dotted(g[1] as number, g[2] as number);
  return null;
}

export function isForbiddenAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return FORBIDDEN.check(address, 'ipv4');
  if (family !== 6) return false;
  if (FORBIDDEN.check(address, 'ipv6')) return true;
  const ipv4 = embeddedIpv4(address);
  return ipv4 !== null && FORBIDDEN.check(ipv4, 'ipv4');
}

/** The error code of a refused address, on the error the lookup returns. */
export const FORBIDDEN_ADDRESS = 'forbidden_address';

/** The error for a connection to a forbidden address; `host` is the name or literal asked for. */
export function forbiddenAddressError(host: string, address: string): NodeJS.ErrnoException {
  const reaches = host === address ? `${address} is` : `${host} resolves to ${address},`;
  return new FencewireError(FORBIDDEN_ADDRESS, `${reaches} a private, loopback, link-local or reserved address; set WEBHOOK_ALLOW_PRIVATE=true to allow it`);
}

/**
 * A DNS lookup for `http.request` that fails on forbidden addresses. The check sits in the
 * connection's own lookup, so the address checked is the address connected to: a name that
 * resolves differently between a check and the request (DNS rebinding) gains nothing. Node
 * skips the lookup for IP literals: `HttpSender` checks those itself, and the socket's remote
 * address once connected.
 */
export const guardedLookup: LookupFunction = (hostname, options, callback) => {
  lookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) return callback(err, '', 0);
    const refused = addresses.find((a) => isForbiddenAddress(a.address));
    if (refused) return callback(forbiddenAddressError(hostname, refused.address), '', 0);
    if (options.all) return (callback as unknown as (e: null, a: typeof addresses) => void)(null, addresses);
    const first = addresses[0];
    if (!first) return callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), '', 0);
    return callback(null, first.address, first.family);
  });
};

/** The host of a URL as an address or name, without IPv6 brackets. */
export function urlHost(url: URL): string {
  return url.hostname.replace(/^\[|\]$/g, '');
}

/**
 * Null when `url` may be used as an endpoint, else why not: it must be http(s), and unless
 * private addresses are allowed, no address its host resolves to may be a forbidden one.
 */
export async function webhookUrlError(url: string, allowPrivate: boolean): Promise<string | null> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return `url "${excerpt(url, 200)}" is not an absolute URL`;
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return `url must use http or https, not ${parsed.protocol}`;
  if (parsed.username !== '' || parsed.password !== '') return 'url must not carry credentials; use headers for authentication';
  if (allowPrivate) return null;
  const host = urlHost(parsed);
  if (isIP(host) !== 0) return isForbiddenAddress(host) ? `url ${forbiddenAddressError(host, host).message}` : null;
  return new Promise((resolve) => {
    // A name that does not resolve yet is accepted: its attempts will fail and be logged.
    guardedLookup(host, { all: true }, (err) => {
      resolve((err as NodeJS.ErrnoException | null)?.code === FORBIDDEN_ADDRESS ? `url ${err?.message}` : null);
    });
  });
}
