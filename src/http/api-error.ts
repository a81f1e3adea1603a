/**
 * API errors: a stable code and a message saying what was wrong. Every code maps to one HTTP
 * status in this one table (a test checks that all are mapped), and every error answers
 * `{"error": {"code": "...", "message": "..."}}` (contract section 6).
 */
export const API_ERROR_STATUS = {
  unauthorized: 401,
  not_found: 404,
  conflict: 409,
  invalid_request: 400,
  payload_too_large: 413,
  unavailable: 503,
  internal_error: 500,
} as const;

export type ApiErrorCode = keyof typeof API_ERROR_STATUS;

export class ApiError extends Error {
  constructor(readonly code: ApiErrorCode, message: string) {
    super(message);
    this.name = 'ApiError';
  }

  get status(): number {
    return API_ERROR_STATUS[this.code];
  }
}

export function errorBody(code: ApiErrorCode, message: string): { error: { code: ApiErrorCode; message: string } } {
  return { error: { code, message } };
}
