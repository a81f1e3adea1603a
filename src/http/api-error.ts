import { FencewireError } from '../errors.js';

/**
 * API errors: a stable code and a message saying what was wrong. Every code maps to one HTTP
 * status in this one table (a test checks that all are mapped), and every error answers
 * `{"error": {"code": "...", "message": "..."}}` (contract section 6).
 */
export const API_ERROR_STATUS = {
  unauthorized: 401,
  quota_exceeded: 403,
  not_found: 404,
  conflict: 409,
  invalid_request: 400,
  request_timeout: 408,
  payload_too_large: 413,
  uri_too_long: 414,
  unsupported_media_type: 415,
  rate_limited: 429,
  header_too_large: 431,
  unavailable: 503,
  internal_error: 500,
} as const;

export type ApiErrorCode = keyof typeof API_ERROR_STATUS;

/** An error the API answers with: one of the error family, its code one of the table's. */
export class ApiError extends FencewireError {
  declare readonly code: ApiErrorCode;

  /** `retryAfterS`: for a rate limit, the seconds after which the request would be accepted (Retry-After). */
  constructor(code: ApiErrorCode, message: string, readonly retryAfterS?: number) {
    super(code, message);
    this.name = 'ApiError';
  }

  get status(): number {
    return API_ERROR_STATUS[this.code];
  }
}

/** The code for a framework error's status (fastify's or Node's), so that every answer has the contract's shape. */
export function codeForStatus(status: number): ApiErrorCode {
  const entry = Object.entries(API_ERROR_STATUS).find(([, s]) => s === status);
  return entry === undefined || status >= 500 ? 'invalid_request' : (entry[0] as ApiErrorCode);
}

export function errorBody(code: ApiErrorCode, message: string): { error: { code: ApiErrorCode; message: string } } {
  return { error: { code, message } };
}
