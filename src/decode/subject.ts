import { partitionOf } from '../core/partition.js';
import { isValidToken } from '../core/token.js';
import { reject, type Rejection } from './rejection.js';


export interface TelemetrySubject {
  readonly tenantId: string;
  readonly deviceId: string;
}

/**
 * How telemetry subjects look as stored: `prefix` is the part before the tenant (e.g.
 * `telemetry.`); with more than one partition the server's subject mapping has appended the
 * partition number (`telemetry.<tenant>.<device>.<partition>`, docs/scaling.md).
 */
export interface SubjectLayout {
  readonly prefix: string;
  readonly partitions: number;
}


/**
 * Splits a stored telemetry subject into its tenant and device. Devices publish to
 * `<prefix><tenant>.<device>`; where the server partitions, the partition token it appended must
 * be the device's own partition: a subject a client wrote with some other number would split the
 * device's fixes between two owners.
 */
export function parseTelemetrySubject(subject: string, layout: SubjectLayout): TelemetrySubject | Rejection {
  // Devices report again and again on the same subject: remember the answers, per layout.
  let parsed = parsedSubjects.get(layout);
  if (parsed === undefined) {
    parsed = new Map();
    parsedSubjects.set(layout, parsed);
  }
  let result = parsed.get(subject);
  if (result === undefined) {
    if (parsed.size >= SUBJECTS_REMEMBERED) parsed.clear();
    result = parseSubject(subject, layout);
    parsed.set(subject, result);
  }
  return result;
}

/** Enough for every device of a large partition; past it the memory starts over. */
const SUBJECTS_REMEMBERED = 200_000;
const parsedSubjects = new WeakMap<SubjectLayout, Map<string, TelemetrySubject | Rejection>>();

function parseSubject(subject: string, layout: SubjectLayout): TelemetrySubject | Rejection {
  const { prefix, partitions } = layout;
  if (!subject.startsWith(prefix)) {
    return reject('invalid_subject', `subject "${subject}" does not start with "${prefix}"`);
  }
  const tokens = subject.slice(prefix.length).split('.');
  const expected = partitions > 1 ? 3 : 2;
  if (tokens.length !== expected) {
    return reject('invalid_subject', `subject "${subject}" must be ${prefix}<tenant>.<device>${partitions > 1 ? '.<partition>, as the server maps it' : ''}`);
  }
  const [tenantId, deviceId, partition] = tokens as [string, string, string | undefined];
  for (const [what, token] of [['tenant', tenantId], ['device', deviceId]] as const) {
    if (!isValidToken(token)) {
      return reject('invalid_subject', `${what} token "${token}" must be 1-64 characters of [A-Za-z0-9_-]`);
    }
  }
  if (partition !== undefined && partition !== String(partitionOf(tenantId, deviceId, partitions))) {
    return reject('invalid_subject', `subject "${subject}" carries partition "${partition}", but the server maps this device to partition ${partitionOf(tenantId, deviceId, partitions)}: publish to ${prefix}${tenantId}.${deviceId}`);
  }
  return { tenantId, deviceId };
}
