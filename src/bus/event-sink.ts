import type { JetStreamClient } from '@nats-io/jetstream';
import { envelope, type EventSink } from '../core/event.js';
import { refusedAsUnstorable } from './message-refused.js';
import type { Topology } from './topology.js';

const encoder = new TextEncoder();

/**
 * The JetStream sink: `Nats-Msg-Id` is the event id, so JetStream drops a resend within its
 * window. An envelope NATS refuses for what it is (over max_payload) is an UnstorableError.
 */
export function jetStreamEventSink(js: JetStreamClient, t: Topology): EventSink {
  return (event) => js.publish(`${t.eventsPrefix}${event.tenantId}.${event.type}`, encoder.encode(envelope(event)), { msgID: event.id }).catch(refusedAsUnstorable('the event'));
}
