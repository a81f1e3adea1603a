import { Unpackr } from 'msgpackr';
import { commandSigned } from '../core/command-signature.js';
import type { DeviceTagging, DriverAssignment, InboundSubmission, RouteAssignment } from '../core/commands.js';
import type { Fix } from '../core/fix.js';
import { decodeReport } from './report.js';
import { isRejection, reject, type Rejection, type RejectionCode } from './rejection.js';
import { isValidToken } from '../core/token.js';
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
  /** Set for an assign-driver command (header `Fencewire-Command`) instead of fixes. */
  readonly assignment?: DriverAssignment;
  /** Set for an inbound-dvir command instead of fixes. */
  readonly inbound?: InboundSubmission;
  /** Set for a set-tags command instead of fixes. */
  readonly tagging?: DeviceTagging;
  /** Set for an assign-route command instead of fixes. */
  readonly routing?: RouteAssignment;
}

/**
 * The header that marks a message on a telemetry subject as a command rather than reports, so
 * that it reaches the device's state in stream order, through the device's one partition owner.
 */
export const COMMAND_HEADER = 'Fencewire-Command';
/** The command's signature (src/core/command-signature.ts): a command without a valid one is refused. */
export const COMMAND_SIGNATURE_HEADER = 'Fencewire-Command-Signature';
export const ASSIGN_DRIVER = 'assign-driver';
export const INBOUND_DVIR = 'inbound-dvir';
export const SET_TAGS = 'set-tags';
export const ASSIGN_ROUTE = 'assign-route';
const COMMANDS = [ASSIGN_DRIVER, SET_TAGS, ASSIGN_ROUTE, INBOUND_DVIR];
/** The most tags a device has. */
export const MAX_DEVICE_TAGS = 32;

/** A command header as a message carries it, with the key to check its signature against. */
export interface CommandHeader {
  readonly name: string;
  readonly signature: string | undefined;
  readonly key: string;
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

/**
 * A command, signed by fencewire's API: `assign-driver`, `{"driver_id": "<token>" | null}`,
 * `set-tags`, `{"tags": ["<token>", ...]}`, `assign-route`, `{"route_id": "<token>" | null}`, or
 * `inbound-dvir`, `{"receipt_id", "received_at", "body"}`; all JSON.
 */
function decodeCommand(tenantId: string, deviceId: string, header: CommandHeader, data: Uint8Array): DecodedMessage {
  const command = header.name;
  if (!commandSigned(header.key, tenantId, deviceId, command, data, header.signature)) {
    return wholeMessage(tenantId, 'json', reject('forged_command', `${COMMAND_HEADER} "${command.slice(0, 40)}" carries no valid ${COMMAND_SIGNATURE_HEADER}: commands come from fencewire's API (PUT /v1/devices/{id}/driver), not from devices`));
  }
  if (!COMMANDS.includes(command)) {
    return wholeMessage(tenantId, 'json', reject('unknown_command', `${COMMAND_HEADER} "${command.slice(0, 40)}" is not a command; the ones there are are ${COMMANDS.join(', ')}`));
  }
  let payload: unknown;
  try {
    payload = JSON.parse(utf8.decode(data));
  } catch (err) {
    return wholeMessage(tenantId, 'json', reject('malformed_payload', `the ${command} payload is not valid JSON: ${(err as Error).message}`));
  }
  if (command === INBOUND_DVIR) {
    const { receipt_id: receiptId, received_at: receivedAt, body } = (payload ?? {}) as { receipt_id?: unknown; received_at?: unknown; body?: unknown };
    if (typeof receiptId !== 'string' || typeof receivedAt !== 'number' || typeof body !== 'object' || body === null || Array.isArray(body)) {
      return wholeMessage(tenantId, 'json', reject('invalid_field', `${INBOUND_DVIR} needs {"receipt_id": a string, "received_at": epoch ms, "body": an object}`));
    }
    return { tenantId, encoding: 'json', fixes: [], rejected: [], inbound: { tenantId, receiptId, receivedAt, body: body as Record<string, unknown> } };
  }
  if (command === SET_TAGS) {
    const tags = (payload as { tags?: unknown } | null)?.tags;
    if (!Array.isArray(tags) || tags.length > MAX_DEVICE_TAGS || !tags.every((t) => typeof t === 'string' && isValidToken(t))) {
      return wholeMessage(tenantId, 'json', reject('invalid_field', `${SET_TAGS} needs {"tags": at most ${MAX_DEVICE_TAGS} tokens of 1-64 characters of A-Z a-z 0-9 _ -}`));
    }
    return { tenantId, encoding: 'json', fixes: [], rejected: [], tagging: { tenantId, deviceId, tags: tags as string[] } };
  }
  const field = command === ASSIGN_ROUTE ? 'route_id' : 'driver_id';
  const id = (payload as Record<string, unknown> | null)?.[field];
  if (id !== null && (typeof id !== 'string' || !isValidToken(id))) {
    return wholeMessage(tenantId, 'json', reject('invalid_field', `${command} needs {"${field}": a token of 1-64 characters of A-Z a-z 0-9 _ - or null}`));
  }
  const decoded: DecodedMessage = { tenantId, encoding: 'json', fixes: [], rejected: [] };
  return command === ASSIGN_ROUTE ? { ...decoded, routing: { tenantId, deviceId, routeId: id } } : { ...decoded, assignment: { tenantId, deviceId, driverId: id } };
}

function wholeMessage(tenantId: string | null, encoding: Encoding, rejection: Rejection): DecodedMessage {
  return { tenantId, encoding, fixes: [], rejected: [{ index: null, rejection, report: null }] };
}

/**
 * Decodes one telemetry message: its subject names the tenant and device, its payload holds one
 * report or an array of them, or, with a `command` header, one command. Never throws: every
 * problem becomes a rejection with a code.
 */
export function decodeTelemetryMessage(
  subject: string,
  layout: SubjectLayout,
  data: Uint8Array,
  contentType: string | undefined,
  nowMs: number,
  command?: CommandHeader,
): DecodedMessage {
  const encoding = detectEncoding(data, contentType);
  const parsedSubject = parseTelemetrySubject(subject, layout);
  if (isRejection(parsedSubject)) return wholeMessage(null, encoding, parsedSubject);
  const { tenantId, deviceId } = parsedSubject;

  // Before the devices' size limit: a signed command is the API's, sized by its own limits
  // (an inbound event may be larger than a report may).
  if (command !== undefined) return decodeCommand(tenantId, deviceId, command, data);
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

/**
 * The reports behind some of a message's fixes, refused with `reasonAt(position)` (a position
 * counts the message's decoded fixes, in order; undefined keeps that fix). For rows the store
 * refused after the decoder let them through: the message, decoded again with the same
 * arguments, gives the same fixes. A single report is refused as the whole message.
 */
export function refuseDecodedFixes(
  subject: string,
  layout: SubjectLayout,
  data: Uint8Array,
  contentType: string | undefined,
  nowMs: number,
  code: RejectionCode,
  reasonAt: (position: number) => string | undefined,
): { readonly fixes: number; readonly refused: RejectedReport[]; readonly tenantId: string | null; readonly encoding: Encoding } {
  const decoded = decodeTelemetryMessage(subject, layout, data, contentType, nowMs);
  const { tenantId, encoding } = decoded;
  const refused: RejectedReport[] = [];
  if (decoded.fixes.length === 0) return { fixes: 0, refused, tenantId, encoding };
  const payload = parsePayload(data, encoding);
  if (!Array.isArray(payload)) {
    const reason = reasonAt(0);
    if (reason !== undefined) refused.push({ index: null, rejection: reject(code, reason), report: null });
    return { fixes: 1, refused, tenantId, encoding };
  }
  // The decoder refused these reports already; every other one became a fix, in order.
  const refusedAt = new Set(decoded.rejected.map((r) => r.index));
  let position = 0;
  payload.forEach((report: unknown, index) => {
    if (refusedAt.has(index)) return;
    const reason = reasonAt(position++);
    if (reason !== undefined) refused.push({ index, rejection: reject(code, reason), report });
  });
  return { fixes: decoded.fixes.length, refused, tenantId, encoding };
}
