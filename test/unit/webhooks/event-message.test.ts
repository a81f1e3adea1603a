import { describe, expect, it } from 'vitest';
import { readEventMessage } from '../../../src/webhooks/event-message.js';

const prefix = 'events.';
const envelope = (fields: Record<string, unknown> = {}) => JSON.stringify({ id: 'evt_1', type: 'geofence.enter', tenant_id: 't1', device_id: 'veh-1', data: {}, ...fields });

describe('event message - fan-out trusts the subject and Nats-Msg-Id, not the body', () => {
  it('reads the tenant and type from the subject and the id from Nats-Msg-Id when the envelope agrees', () => {
    expect(readEventMessage(prefix, 'events.t1.geofence.enter', 'evt_1', envelope())).toEqual({ id: 'evt_1', type: 'geofence.enter', tenantId: 't1' });
  });

  it.each([
    ['another tenant in the body', 'events.t1.geofence.enter', 'evt_1', envelope({ tenant_id: 't2' }), 'envelope_mismatch', /tenant_id "t2" is not "t1" of the subject/],
    ['another type in the body', 'events.t1.geofence.enter', 'evt_1', envelope({ type: 'webhook.test' }), 'envelope_mismatch', /type "webhook.test" is not "geofence.enter"/],
    ['another id than Nats-Msg-Id', 'events.t1.geofence.enter', 'evt_9', envelope(), 'envelope_mismatch', /id "evt_1" is not "evt_9" of Nats-Msg-Id/],
    ['no tenant_id at all', 'events.t1.geofence.enter', 'evt_1', envelope({ tenant_id: undefined }), 'envelope_mismatch', /tenant_id undefined is not "t1"/],
    ['not JSON', 'events.t1.geofence.enter', undefined, '{"id":', 'not_an_envelope', /not JSON/],
    ['no id', 'events.t1.geofence.enter', undefined, '{}', 'not_an_envelope', /string id/],
    ['a subject without a type', 'events.t1', undefined, envelope(), 'not_an_envelope', /is not events\.<tenant>\.<type>/],
  ])('refuses %s', (_what, subject, msgId, body, code, message) => {
    const read = readEventMessage(prefix, subject, msgId, body);
    expect(read).toMatchObject({ rejection: { code, message: expect.stringMatching(message) } });
  });

  it('keeps the subject\'s tenant of a refused message, for its dead letter', () => {
    expect(readEventMessage(prefix, 'events.t1.x', 'evt_1', envelope({ tenant_id: 't2', type: 'x' }))).toMatchObject({ tenantId: 't1' });
  });
});
