/**
 * Why a telemetry message or report was refused (or, for the last two, a message on the
 * events stream that is not fencewire's envelope as its subject and id say). Codes are stable: they travel in the
 * `Fencewire-Error-Code` header of dead-lettered messages and label the rejection metric.
 */
export const REJECTION_CODES = [
  'invalid_subject',
  'message_too_large',
  'malformed_payload',
  'not_a_report',
  'empty_batch',
  'batch_too_large',
  'missing_field',
  'invalid_field',
  'invalid_timestamp',
  'timestamp_in_future',
  'coordinates_not_finite',
  'coordinates_out_of_range',
  'null_island',
  'device_mismatch',
  'too_many_attributes',
  'invalid_text',
  'unstorable',
  'unknown_command',
  'forged_command',
  'not_an_envelope',
  'envelope_mismatch',
] as const;

export type RejectionCode = (typeof REJECTION_CODES)[number];

export interface Rejection {
  readonly code: RejectionCode;
  /** A sentence that says what was wrong and how to fix it. */
  readonly message: string;
}

export function reject(code: RejectionCode, message: string): Rejection {
  return { code, message };
}

export function isRejection(value: unknown): value is Rejection {
  return typeof value === 'object' && value !== null && 'code' in value && 'message' in value;
}
