import { describe, expect, it } from 'vitest';
import { rejectionSource } from '../../src/unhandled-rejections.js';

describe('unhandled rejections - labelled by where they came from', () => {
  it('names fencewire\'s own module from the stack, else the error code, else its name', () => {
    const own = new Error('boom');
    own.stack = 'Error: boom\n    at ClientRequest.end (node:_http_outgoing:1:1)\n    at HttpSender.send (/app/dist/webhooks/http-sender.js:70:13)';
    expect(rejectionSource(own)).toBe('webhooks/http-sender');
    const coded = Object.assign(new Error('x'), { stack: 'Error: x\n    at node:internal/x:1:1', code: 'ERR_HTTP_TRAILER_INVALID' });
    expect(rejectionSource(coded)).toBe('ERR_HTTP_TRAILER_INVALID');
    expect(rejectionSource(Object.assign(new TypeError('t'), { stack: '' }))).toBe('TypeError');
    expect(rejectionSource('a string')).toBe('unknown');
  });
});
