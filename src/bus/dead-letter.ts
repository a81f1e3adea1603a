import { createHash } from 'node:crypto';
import type { JetStreamClient } from '@nats-io/jetstream';
import { headers as natsHeaders, type MsgHdrs } from '@nats-io/transport-node';
import { Packr } from 'msgpackr';
import type { Encoding, RejectedReport } from '../decode/message.js';
import { refusedAsUnstorable } from './message-refused.js';

const packr = new Packr({ useRecords: false });
const utf8 = new TextEncoder();

export interface RefusedMessage {
  readonly subject: string;
  readonly data: Uint8Array;
  readonly headers: MsgHdrs | undefined;
}

/**
 * The one header of the device's own that a dead letter keeps: the contract's Content-Type,
 * which says how to read the payload. Any other is the sender's, and copying them let a device
 * grow each dead letter by whatever headers it chose to send.
 */
const KEPT_HEADER = 'Content-Type';
/** A Content-Type longer than this is not one (`application/json; charset=utf-8` is 31). */
const MAX_KEPT_VALUE = 128;

/** A dead letter's message: the error headers and the bytes it carries. */
export interface DeadLetter {
  readonly headers: MsgHdrs;
  readonly payload: Uint8Array;
}

/** Bytes the headers take on the wire (`NATS/1.0`, one `key: value` line each, a blank line): max_payload counts them. */
export function headerBytes(h: MsgHdrs): number {
  let bytes = 'NATS/1.0\r\n\r\n'.length;
  for (const [key, values] of h) for (const value of values) bytes += utf8.encode(`${key}: ${value}\r\n`).length;
  return bytes;
}

/**
 * A refused message or report as its dead letter: headers of contract section 1 (with
 * `Nats-Msg-Id` when `msgId` is given, so that the DLQ drops a second copy of it) and the bytes:
 * the message unchanged when it was refused whole; for one report of an array, that report
 * alone, in the message's own encoding (the good reports of the array were stored, so replaying
 * the dead letter must not depend on them). Bytes that would not fit `maxPayload` beside the
 * headers are cut to fit, and `Fencewire-Truncated-From` and `Fencewire-Payload-Sha256` then
 * give the original's length and hash.
 */
export function deadLetter(message: RefusedMessage, refused: RejectedReport, encoding: Encoding, maxPayload: number, msgId?: string): DeadLetter {
  const h = natsHeaders();
  const contentType = message.headers?.get(KEPT_HEADER);
  if (contentType && contentType.length <= MAX_KEPT_VALUE) h.set(KEPT_HEADER, contentType);
  if (msgId !== undefined) h.set('Nats-Msg-Id', msgId);
  h.set('Fencewire-Error-Code', refused.rejection.code);
  h.set('Fencewire-Error', refused.rejection.message);
  h.set('Fencewire-Original-Subject', message.subject);
  if (refused.index !== null) h.set('Fencewire-Report-Index', String(refused.index));
  const data = refused.index === null ? message.data : encoding === 'json' ? utf8.encode(JSON.stringify(refused.report)) : packr.pack(refused.report);
  if (headerBytes(h) + data.length <= maxPayload) return { headers: h, payload: data };
  h.set('Fencewire-Truncated-From', String(data.length));
  h.set('Fencewire-Payload-Sha256', createHash('sha256').update(data).digest('hex'));
  return { headers: h, payload: data.subarray(0, Math.max(0, maxPayload - headerBytes(h))) };
}

/**
 * Copies a refused message or report to `subject` (`dlq.telemetry.<tenant>` or
 * `dlq.events.<tenant>`; see `deadLetter`) and waits for JetStream to have stored it; an
 * UnstorableError when NATS refuses the dead letter for what it is.
 */
export async function publishDeadLetter(
  js: JetStreamClient,
  subject: string,
  message: RefusedMessage,
  refused: RejectedReport,
  encoding: Encoding,
  maxPayload: number,
  msgId?: string,
): Promise<void> {
  const letter = deadLetter(message, refused, encoding, maxPayload, msgId);
  await js.publish(subject, letter.payload, { headers: letter.headers }).catch(refusedAsUnstorable('the dead letter'));
}
