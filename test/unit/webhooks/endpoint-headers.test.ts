import { describe, expect, it } from 'vitest';
import { customHeaderError, customHeadersError } from '../../../src/webhooks/endpoint-headers.js';

describe('webhooks - custom headers cannot change framing, connection, proxying or signatures', () => {
  it.each([
    'Trailer', 'TE', 'Upgrade', 'Keep-Alive', 'Expect', 'Proxy-Authorization', 'Proxy-Connection', 'proxy-anything',
    'Connection', 'Content-Encoding', 'Host', 'Content-Length', 'Transfer-Encoding', 'Content-Type',
    'X-Signature', 'X-Event-Id', 'X-Event-Type', 'X-Timestamp', 'X-Attempt', 'webhook-id', 'Webhook-Signature', 'webhook-timestamp',
  ])('%s is refused', (name) => {
    expect(customHeaderError(name, 'x')).toMatch(new RegExp(`header "${name}" is set by fencewire or changes how the request is framed`));
  });

  it('allows ordinary headers, and refuses bad names, long names, long values and line breaks', () => {
    expect(customHeaderError('Authorization', 'Bearer abc')).toBeNull();
    expect(customHeaderError('X-Tenant-Route', 'a'.repeat(8192))).toBeNull();
    expect(customHeaderError('Bad Name', 'x')).toMatch(/not a valid HTTP header name/);
    expect(customHeaderError(`X-${'n'.repeat(255)}`, 'x')).toMatch(/^header name "X-n{62}\.\.\.\(257 characters\)" is longer than 256 characters$/);
    expect(customHeaderError('X-Big', 'a'.repeat(8193))).toBe('header "X-Big" has a value longer than 8192 bytes');
    expect(customHeaderError('X-Ok', 'a\r\nX-Evil: 1')).toMatch(/line breaks/);
    expect(customHeadersError({ Authorization: 'Bearer abc', Trailer: 'X-Foo' })).toMatch(/header "Trailer"/);
    expect(customHeadersError({ Authorization: 'Bearer abc' })).toBeNull();
  });
});
