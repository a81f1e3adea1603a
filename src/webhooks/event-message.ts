import { reject, type Rejection } from '../decode/rejection.js';

/** What fan-out needs of an event on `EVENTS`. */
export interface EventHeader {
  readonly id: string;
  readonly type: string;
  readonly tenantId: string;
}

/** An event message refused: its tenant (from the subject, null when it names none) and why. */
export interface RefusedEvent {
  readonly tenantId: string | null;
  readonly rejection: Rejection;
}

/**
 * Reads an `EVENTS` message as fan-out trusts it: the tenant and type from the subject
 * (`<prefix><tenant>.<type>`), the id from `Nats-Msg-Id`, and the envelope must say the same.
 * Delivering on the envelope's word let anyone who could publish on `events.t1.*` have t2's
 * endpoints receive, signed with t2's secret, whatever it wrote.
 */
export function readEventMessage(prefix: string, subject: string, msgId: string | undefined, body: string): EventHeader | RefusedEvent {
  const rest = subject.startsWith(prefix) ? subject.slice(prefix.length) : '';
  const dot = rest.indexOf('.');
  const tenantId = dot > 0 ? rest.slice(0, dot) : null;
  const type = dot > 0 ? rest.slice(dot + 1) : '';
  if (tenantId === null || type === '') return { tenantId, rejection: reject('not_an_envelope', `subject "${subject}" is not ${prefix}<tenant>.<type>`) };
  let envelope: { id?: unknown; type?: unknown; tenant_id?: unknown } | null;
  try {
    envelope = JSON.parse(body) as typeof envelope;
  } catch (err) {
    return { tenantId, rejection: reject('not_an_envelope', `the message is not JSON: ${(err as Error).message}`) };
  }
  if (typeof envelope !== 'object' || envelope === null || typeof envelope.id !== 'string') {
    return { tenantId, rejection: reject('not_an_envelope', 'the message is not an event envelope with a string id') };
  }
  const mismatch = [
    ['tenant_id', envelope.tenant_id, tenantId, 'the subject'],
    ['type', envelope.type, type, 'the subject'],
    ['id', envelope.id, msgId ?? envelope.id, 'Nats-Msg-Id'],
  ].find(([, said, expected]) => said !== expected);
  if (mismatch !== undefined) {
    const [field, said, expected, source] = mismatch;
    return { tenantId, rejection: reject('envelope_mismatch', `the envelope's ${field} ${JSON.stringify(said)?.slice(0, 80)} is not ${JSON.stringify(expected)?.slice(0, 80)} of ${source}`) };
  }
  return { id: envelope.id, type, tenantId };
}

export function isRefusedEvent(read: EventHeader | RefusedEvent): read is RefusedEvent {
  return 'rejection' in read;
}
