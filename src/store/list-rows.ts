import type pg from 'pg';
import type { CountedRows, Page } from '../core/page.js';

/**
 * Rows a list counts, and the furthest offset it pages to: counting or skipping a whole large
 * filter on every page was a full scan per request (offsets went to 1e9). Past it, a list is
 * narrowed with its filters (from, to, type, device_id) rather than paged.
 */
export const MAX_COUNTED = 100_000;

/** What a list reads: `SELECT <select> FROM <from> WHERE <where> ORDER BY <orderBy>`. */
export interface ListQuery {
  readonly select: string;
  readonly from: string;
  readonly where: string;
  readonly orderBy: string;
}

/**
 * One page of a list and its count (exact up to MAX_COUNTED, which a larger list answers),
 * queried side by side.
 */
export async function countedRows<T extends pg.QueryResultRow = Record<string, unknown>>(db: pg.Pool, query: ListQuery, params: unknown[], page: Page): Promise<CountedRows<T>> {
  const [count, rows] = await Promise.all([
    db.query<{ n: string }>(`SELECT count(*) AS n FROM (SELECT 1 FROM ${query.from} WHERE ${query.where} LIMIT ${MAX_COUNTED}) counted`, params),
    db.query<T>(`SELECT ${query.select} FROM ${query.from} WHERE ${query.where} ORDER BY ${query.orderBy} LIMIT ${page.limit} OFFSET ${page.offset}`, params),
  ]);
  return { count: Number(count.rows[0]?.n), rows: rows.rows };
}
