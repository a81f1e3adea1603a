import { Unpackr } from 'msgpackr';
import type { Fix } from '../core/fix.js';
import { decodeReport } from './report.js';
import { isRejection, reject, type Rejection } from './rejection.js';
import { parseTelemetrySubject, type SubjectLayout } from './subject.js';

export const MAX_MESSAGE_BYTES = 64 * 1024;
export const MAX_REPORTS_PER_MESSAGE = 1000;

export type Encoding = 'json' | 'msgpack';

// Plain objects rather than msgpackr records or Maps: reports are validated field by field.
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number' });
const utf8 = new TextDecoder('utf-8', { fatal: true });

const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;

/** A report of a message that was refused on its own (the rest of its array went through). */
export interface RejectedReport {
  /** Position in the message's array; null when the whole message was refused. */
  readonly index: number | null;
  readonly rejection: Rejection;
  /** The refused report, for the dead-letter copy; null when the whole message was refused. */
  readonly report: unknown;
}

export interface DecodedMessage {
  readonly tenantId: string | null;
  readonly encoding: Encoding;
  readonly fixes: Fix[];
  readonly rejected: RejectedReport[];
}

/** JSON when the Content-Type says so or the payload starts with `{` or `[` (contract section 1). */
export function detectEncoding(data: Uint8Array, contentType: string | undefined): Encoding {
  if (contentType !== undefined && contentType.toLowerCase().startsWith('application/json')) return 'json';
  const first = data[0];
  return first === OPEN_BRACE || first === OPEN_BRACKET ? 'json' : 'msgpack';
}

function parsePayload(data: Uint8Array, encoding: Encoding): unknown {
  if (encoding === 'json') return JSON.parse(utf8.decode(data));
  // unpackMultiple would accept trailing garbage silently; unpack throws on it only sometimes,
  // so check that the decoder consumed every byte.
  const values = unpackr.unpackMultiple(data);
  if (values === undefined || values.length !== 1) throw new Error(`expected one MessagePack value, found ${values?.length ?? 0}`);
  return values[0];
}

function wholeMessage(tenantId: string | null, encoding: Encoding, rejection: Rejection): DecodedMessage {
  return { tenantId, encoding, fixes: [], rejected: [{ index: null, rejection, report: null }] };
}

/**
 * Decodes one telemetry message: its subject names the tenant and device, its payload holds one
 * report or an array of them. Never throws: every problem becomes a rejection with a code.
 */
export function decodeTelemetryMessage(
  subject: string,
  layout: SubjectLayout,
  data: Uint8Array,
  contentType: string | undefined,
  nowMs: number,
): DecodedMessage {
  const encoding = detectEncoding(data, contentType);
  const parsedSubject = parseTelemetrySubject(subject, layout);
  if (isRejection(parsedSubject)) return wholeMessage(null, encoding, parsedSubject);
  const { tenantId, deviceId } = parsedSubject;

  if (data.length > MAX_MESSAGE_BYTES) {
    return wholeMessage(tenantId, encoding, reject('message_too_large', `the message has ${data.length} bytes; the limit is ${MAX_MESSAGE_BYTES}`));
  }
  let payload: unknown;
  try {
    payload = parsePayload(data, encoding);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    return wholeMessage(tenantId, encoding, reject('malformed_payload', `the payload is not valid ${encoding === 'json' ? 'JSON' : 'MessagePack'}: ${why}`));
  }

  if (!Array.isArray(payload)) {
    const fix = decodeReport(payload, tenantId, deviceId, nowMs);
    return isRejection(fix) ? wholeMessage(tenantId, encoding, fix) : { tenantId, encoding, fixes: [fix], rejected: [] };
  }
  if (payload.length === 0) return wholeMessage(tenantId, encoding, reject('empty_batch', 'the payload is an empty array; send at least one report'));
  if (payload.length > MAX_REPORTS_PER_MESSAGE) {
    return wholeMessage(tenantId, encoding, reject('batch_too_large', `the array holds ${payload.length} reports; the limit is ${MAX_REPORTS_PER_MESSAGE} per message`));
  }
  const fixes: Fix[] = [];
  const rejected: RejectedReport[] = [];
  payload.forEach((report: unknown, index) => {
    const fix = decodeReport(report, tenantId, deviceId, nowMs);
    if (isRejection(fix)) rejected.push({ index, rejection: fix, report });
    else fixes.push(fix);
  });
  return { tenantId, encoding, fixes, rejected };
}
