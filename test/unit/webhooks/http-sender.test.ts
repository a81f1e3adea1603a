import { describe, expect, it } from 'vitest';
import { HttpSender } from '../../../src/webhooks/http-sender.js';

describe('webhooks - the sender never throws', () => {
  it('turns a request Node refuses to write into a failed attempt, not an exception', async () => {
    const sender = new HttpSender(1000, true);
    try {
      const outcome = await sender.send({ url: 'http://127.0.0.1:9/hook', headers: { 'x-broken': 'a\nb' }, body: '{}' });
      expect(outcome).toMatchObject({ statusCode: null, responseBody: null, error: expect.stringMatching(/^request not sent: .*x-broken/) });
    } finally {
      sender.close();
    }
  });
});
