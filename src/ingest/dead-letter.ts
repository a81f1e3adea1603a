import type { JetStreamClient } from '@nats-io/jetstream';
import { headers as natsHeaders, type MsgHdrs } from '@nats-io/transport-node';
import { Packr } from 'msgpackr';
import type { Encoding, RejectedReport } from '../decode/message.js';
import { dlqSubject, type Topology } from '../bus/topology.js';

const packr = new Packr({ useRecords: false });
const utf8 = new TextEncoder();

export interface RefusedMessage {
  readonly subject: string;
  readonly data: Uint8Array;
  readonly headers: MsgHdrs | undefined;
}

/** Room left in a NATS message for the dead-letter headers. */
const HEADER_ROOM_BYTES = 4096;

/**
 * The bytes a dead letter carries: the message unchanged when it was refused whole; for one
 * report of an array, that report alone, in the message's own encoding (the good reports of
 * the array were stored, so replaying the dead letter must not depend on them). A message so
 * large that it would not fit the server's max_payload with the error headers added is cut to
 * fit; the `Fencewire-Truncated-From` header then gives its size.
 */
export function deadLetterPayload(message: RefusedMessage, refused: RejectedReport, encoding: Encoding, maxPayload: number): Uint8Array {
  if (refused.index !== null) return encoding === 'json' ? utf8.encode(JSON.stringify(refused.report)) : packr.pack(refused.report);
  const room = maxPayload - HEADER_ROOM_BYTES;
  return message.data.length <= room ? message.data : message.data.subarray(0, room);
}

/**
 * Copies a refused message or report to `dlq.telemetry.<tenant>` with the error headers of
 * contract section 1, and waits for JetStream to have stored it. `msgId`, when given, lets the
 * DLQ stream drop a second copy of the same dead letter (a replayed message).
 */
export async function publishDeadLetter(
  js: JetStreamClient,
  t: Topology,
  tenantId: string | null,
  message: RefusedMessage,
  refused: RejectedReport,
  encoding: Encoding,
  maxPayload: number,
  msgId?: string,
): Promise<void> {
  const h = natsHeaders();
  for (const [key, values] of message.headers ?? []) {
    // JetStream's own headers (Nats-Msg-Id above all) would make the DLQ drop a second
    // dead letter cut from the same message as a duplicate.
    if (key.toLowerCase().startsWith('nats-')) continue;
    for (const value of values) h.append(key, value);
  }
  h.set('Fencewire-Error-Code', refused.rejection.code);
  h.set('Fencewire-Error', refused.rejection.message);
  h.set('Fencewire-Original-Subject', message.subject);
  if (refused.index !== null) h.set('Fencewire-Report-Index', String(refused.index));
  const payload = deadLetterPayload(message, refused, encoding, maxPayload);
  if (payload.length < message.data.length && refused.index === null) h.set('Fencewire-Truncated-From', String(message.data.length));
  await js.publish(dlqSubject(t, tenantId), payload, msgId === undefined ? { headers: h } : { headers: h, msgID: msgId });
}
