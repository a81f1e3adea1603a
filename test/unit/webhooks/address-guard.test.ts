import { describe, expect, it } from 'vitest';
import { isForbiddenAddress, webhookUrlError } from '../../../src/webhooks/address-guard.js';
import { customHeaderError } from '../../../src/webhooks/endpoint-headers.js';

describe('webhooks - private and loopback addresses are refused', () => {
  it.each([
    '127.0.0.1', '10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0',
    '::1', '::', 'fe80::1', 'fd00::1', '::ffff:127.0.0.1', '::ffff:10.0.0.1',
  ])('%s is forbidden', (address) => {
    expect(isForbiddenAddress(address)).toBe(true);
  });

  it.each(['8.8.8.8', '172.32.0.1', '192.169.0.1', '2606:4700::1111', '::ffff:8.8.8.8'])('%s is allowed', (address) => {
    expect(isForbiddenAddress(address)).toBe(false);
  });

  it('refuses loopback URLs unless allowed, and URLs that are not http(s) or carry credentials', async () => {
    expect(await webhookUrlError('http://127.0.0.1:9000/hook', false)).toMatch(/127\.0\.0\.1, a private, loopback or link-local address; set WEBHOOK_ALLOW_PRIVATE=true/);
    expect(await webhookUrlError('http://localhost/hook', false)).toMatch(/localhost resolves to/);
    expect(await webhookUrlError('http://[::1]/hook', false)).toMatch(/::1/);
    expect(await webhookUrlError('http://127.0.0.1:9000/hook', true)).toBeNull();
    expect(await webhookUrlError('ftp://example.com/x', true)).toMatch(/must use http or https/);
    expect(await webhookUrlError('https://user:pw@example.com/x', true)).toMatch(/must not carry credentials/);
    expect(await webhookUrlError('not a url', true)).toMatch(/is not an absolute URL/);
  });

  it('custom headers may not replace the signature headers or smuggle line breaks', () => {
    expect(customHeaderError('Authorization', 'Bearer abc')).toBeNull();
    expect(customHeaderError('X-Signature', 'forged')).toMatch(/set by fencewire/);
    expect(customHeaderError('webhook-id', 'x')).toMatch(/set by fencewire/);
    expect(customHeaderError('Bad Name', 'x')).toMatch(/not a valid HTTP header name/);
    expect(customHeaderError('X-Ok', 'a\r\nX-Evil: 1')).toMatch(/line breaks/);
  });
});
