import type { CountedRows, Page } from '../core/page.js';
import { excerpt } from '../errors.js';
import { MAX_COUNTED } from '../store/list-rows.js';
import { ApiError } from './api-error.js';

export const DEFAULT_LIMIT = 50;
export const MAX_LIMIT = 100;

/** `limit` (default 50, capped at 100) and `offset` from a query string. */
export function parsePage(query: Record<string, unknown>): Page {
  const read = (name: string, fallback: number, max: number, beyond: string): number => {
    const raw = query[name];
    if (raw === undefined) return fallback;
    if (typeof raw !== 'string' || !/^\d+$/.test(raw)) throw new ApiError('invalid_request', `${name} must be a whole number >= 0, got ${excerpt(JSON.stringify(raw) ?? String(raw), 100)}`);
    const value = Number(raw);
    if (value > max) throw new ApiError('invalid_request', `${name} must be at most ${max}, got ${excerpt(raw, 30)}${beyond}`);
    return value;
  };
  return {
    // A larger limit is taken as the largest (contract section 6); one past bigint is not a number.
    limit: Math.min(MAX_LIMIT, Math.max(1, read('limit', DEFAULT_LIMIT, Number.MAX_SAFE_INTEGER, ''))),
    offset: read('offset', 0, MAX_COUNTED, '; narrow the list with its filters (from, to, ...) instead'),
  };
}

/** The list answer of contract section 6. */
export interface ListAnswer {
  readonly count: number;
  readonly next: string | null;
  readonly previous: string | null;
  readonly results: unknown[];
}

/**
 * The list answer of a page of rows, with `next`/`previous` URLs keeping the request's other
 * parameters; `map` turns a row into a result when the row is not one.
 */
export function listAnswer<T>(url: string, page: Page, counted: CountedRows<T>, map: (row: T) => unknown = (row) => row): ListAnswer {
  const link = (offset: number) => {
    const u = new URL(url, 'http://localhost');
    u.searchParams.set('limit', String(page.limit));
    u.searchParams.set('offset', String(offset));
    return `${u.pathname}${u.search}`;
  };
  const { count } = counted;
  return {
    count,
    next: page.offset + page.limit < count ? link(page.offset + page.limit) : null,
    previous: page.offset > 0 ? link(Math.max(0, page.offset - page.limit)) : null,
    results: counted.rows.map(map),
  };
}

/** An optional RFC 3339 query parameter (`from`, `to`), as an ISO string, or null when absent. */
export function timeParameter(query: Record<string, unknown>, name: string): string | null {
  const raw = query[name];
  if (raw === undefined) return null;
  if (typeof raw !== 'string' || Number.isNaN(Date.parse(raw))) throw new ApiError('invalid_request', `${name} must be an RFC 3339 date-time, got ${excerpt(JSON.stringify(raw) ?? String(raw), 100)}`);
  const time = new Date(raw);
  // PostgreSQL has no year 0, and JavaScript dates run past what it stores.
  if (time.getUTCFullYear() < 1 || time.getUTCFullYear() > 9999) throw new ApiError('invalid_request', `${name} must be between years 0001 and 9999, got ${excerpt(raw, 40)}`);
  return time.toISOString();
}
