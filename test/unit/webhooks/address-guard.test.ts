import { describe, expect, it } from 'vitest';
import { embeddedIpv4, isForbiddenAddress, webhookUrlError } from '../../../src/webhooks/address-guard.js';

describe('webhooks - private and loopback addresses are refused', () => {
  it.each([
    '127.0.0.1', '10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0',
    // Benchmarking, IETF protocol assignments, reserved and broadcast.
    '198.18.0.1', '198.19.255.254', '192.0.0.1', '192.0.0.170', '240.0.0.1', '255.255.255.255',
    '::1', '::', 'fe80::1', 'fd00::1', '::ffff:127.0.0.1', '::ffff:10.0.0.1', '::ffff:7f00:1',
    // IPv4-compatible, NAT64 and 6to4 forms of forbidden IPv4 addresses, and local-use NAT64.
    '::127.0.0.1', '::a00:1', '64:ff9b::127.0.0.1', '64:ff9b::a9fe:a9fe', '2002:7f00:1::', '2002:c0a8:101::1', '64:ff9b:1::1',
  ])('%s is forbidden', (address) => {
    expect(isForbiddenAddress(address)).toBe(true);
  });

  it.each([
    '8.8.8.8', '172.32.0.1', '192.169.0.1', '198.20.0.1', '192.0.1.1', '2606:4700::1111', '::ffff:8.8.8.8',
    '64:ff9b::8.8.8.8', '2002:808:808::1', '::8.8.8.8',
  ])('%s is allowed', (address) => {
    expect(isForbiddenAddress(address)).toBe(false);
  });

  it.each([
    ['::ffff:127.0.0.1', '127.0.0.1'], ['::127.0.0.1', '127.0.0.1'], ['64:ff9b::c0a8:0101', '192.168.1.1'],
    ['2002:0a00:0001:1::5', '10.0.0.1'], ['2606:4700::1111', null], ['fe80::1%eth0', null],
  ])('%s embeds %s', (address, ipv4) => {
    expect(embeddedIpv4(address)).toBe(ipv4);
  });

  it('refuses loopback URLs unless allowed, and URLs that are not http(s) or carry credentials', async () => {
    expect(await webhookUrlError('http://127.0.0.1:9000/hook', false)).toMatch(/127\.0\.0\.1 is a private, loopback, link-local or reserved address; set WEBHOOK_ALLOW_PRIVATE=true/);
    expect(await webhookUrlError('http://localhost/hook', false)).toMatch(/localhost resolves to/);
    expect(await webhookUrlError('http://[::1]/hook', false)).toMatch(/::1/);
    expect(await webhookUrlError('http://[64:ff9b::127.0.0.1]/hook', false)).toMatch(/64:ff9b::7f00:1 is a private/);
    expect(await webhookUrlError('http://[2002:7f00:1::]/hook', false)).toMatch(/is a private/);
    expect(await webhookUrlError('http://198.18.0.1/hook', false)).toMatch(/is a private/);
    expect(await webhookUrlError('http://127.0.0.1:9000/hook', true)).toBeNull();
    expect(await webhookUrlError('ftp://example.com/x', true)).toMatch(/must use http or https/);
    expect(await webhookUrlError('https://user:pw@example.com/x', true)).toMatch(/must not carry credentials/);
    expect(await webhookUrlError('not a url', true)).toMatch(/is not an absolute URL/);
  });
});
