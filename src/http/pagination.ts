import { ApiError } from './api-error.js';

export const DEFAULT_LIMIT = 50;
export const MAX_LIMIT = 100;

export interface Page {
  readonly limit: number;
  readonly offset: number;
}

/** `limit` (default 50, capped at 100) and `offset` from a query string. */
export function parsePage(query: Record<string, unknown>): Page {
  const read = (name: string, fallback: number): number => {
    const raw = query[name];
    if (raw === undefined) return fallback;
    if (typeof raw !== 'string' || !/^\d+$/.test(raw)) throw new ApiError('invalid_request', `${name} must be a whole number >= 0, got ${JSON.stringify(raw)}`);
    return Number(raw);
  };
  return { limit: Math.min(MAX_LIMIT, Math.max(1, read('limit', DEFAULT_LIMIT))), offset: read('offset', 0) };
}

/** The list answer of contract section 6, with `next`/`previous` URLs keeping the other parameters. */
export function pageResponse<T>(url: string, page: Page, count: number, results: T[]): { count: number; next: string | null; previous: string | null; results: T[] } {
  const link = (offset: number) => {
    const u = new URL(url, 'http://localhost');
    u.searchParams.set('limit', String(page.limit));
    u.searchParams.set('offset', String(offset));
    return `${u.pathname}${u.search}`;
  };
  return {
    count,
    next: page.offset + page.limit < count ? link(page.offset + page.limit) : null,
    previous: page.offset > 0 ? link(Math.max(0, page.offset - page.limit)) : null,
    results,
  };
}

/** An optional RFC 3339 query parameter (`from`, `to`), as an ISO string, or null when absent. */
export function timeParameter(query: Record<string, unknown>, name: string): string | null {
  const raw = query[name];
  if (raw === undefined) return null;
  if (typeof raw !== 'string' || Number.isNaN(Date.parse(raw))) throw new ApiError('invalid_request', `${name} must be an RFC 3339 date-time, got ${JSON.stringify(raw)}`);
  return new Date(raw).toISOString();
}
