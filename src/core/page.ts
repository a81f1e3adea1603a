/** A window of a list: `limit` rows from `offset` (contract section 6). */
export interface Page {
  readonly limit: number;
  readonly offset: number;
}

/** One page of rows and how many the whole list has (counted up to a bound the store sets). */
export interface CountedRows<T> {
  readonly count: number;
  readonly rows: T[];
}

/** An optional time window, as ISO strings: from inclusive, to exclusive. */
export interface TimeRange {
  readonly from: string | null;
  readonly to: string | null;
}
