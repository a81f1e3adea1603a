import { createHmac } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { generateSecret, secretError, signatureHeaders } from '../../../src/webhooks/signature.js';

const body = '{"id":"evt_1","type":"geofence.enter","tenant_id":"acme","device_id":"veh-42","occurred_at":"2026-11-22T08:00:05.000Z","data":{"geofence_id":"depot-1"}}';
const delivery = { eventId: 'evt_1', eventType: 'geofence.enter', body, attempt: 2 };

describe('webhooks - signing (contract section 5)', () => {
  it('generates whsec_ secrets of 24 random bytes that it accepts', () => {
    const secret = generateSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
    expect(Buffer.from(secret.slice(6), 'base64')).toHaveLength(24);
    expect(secretError(secret)).toBeNull();
    expect(generateSecret()).not.toBe(secret);
  });

  it.each([
    ['plain-secret', /must start with "whsec_"/],
    ['whsec_not base64!', /must be base64/],
    ['whsec_c2hvcnQ=', /at least 24 bytes/],
    [`whsec_${Buffer.alloc(16).toString('base64')}`, /at least 24 bytes/],
    [`whsec_${Buffer.alloc(32).toString('base64')}`, /is not random/],
    [`whsec_${Buffer.from('abababababababababababababababab').toString('base64')}`, /is not random/],
    [`whsec_${Buffer.from('abcdefghijklmnopqrstuvwxyz').toString('base64')}`, /is not random/],
  ])('refuses the secret %s', (secret, message) => {
    expect(secretError(secret)).toMatch(message);
  });

  it('signs <timestamp>.<body> with the whole secret string as lowercase hex in X-Signature', () => {
    const secret = generateSecret();
    const headers = signatureHeaders(secret, delivery, 1_795_000_000);
    const expected = createHmac('sha256', secret).update(`1795000000.${body}`).digest('hex');
    expect(headers['x-signature']).toBe(expected);
    expect(headers).toMatchObject({
      'content-type': 'application/json', 'x-event-id': 'evt_1', 'x-event-type': 'geofence.enter', 'x-timestamp': '1795000000', 'x-attempt': '2',
      'webhook-id': 'evt_1', 'webhook-timestamp': '1795000000',
    });
  });

  it('produces a webhook-signature the standardwebhooks package verifies, and one it refuses for another body', () => {
    const secret = generateSecret();
    const now = Math.floor(Date.now() / 1000);
    const headers = signatureHeaders(secret, delivery, now);
    expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
    expect(() => new Webhook(secret).verify(body.replace('acme', 'evil'), headers)).toThrow(/signature/i);
    expect(() => new Webhook(generateSecret()).verify(body, headers)).toThrow(/signature/i);
  });

  it('is refused by a Standard Webhooks receiver once the timestamp is older than its tolerance', () => {
    const secret = generateSecret();
    const headers = signatureHeaders(secret, delivery, Math.floor(Date.now() / 1000) - 600);
    expect(() => new Webhook(secret).verify(body, headers)).toThrow(/too old/i);
  });
});
