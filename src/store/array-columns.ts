/**
 * How a column's values are written into a PostgreSQL array literal. pg's generic array
 * serializer escapes every element and was a tenth of ingest's CPU time; here only JSON needs
 * quoting: tenant and device ids are validated tokens of [A-Za-z0-9_-], event ids and types
 * are ours.
 */
export type Column<T> =
  | { readonly kind: 'token'; readonly get: (row: T) => string | null }
  | { readonly kind: 'number'; readonly get: (row: T) => number | null }
  | { readonly kind: 'boolean'; readonly get: (row: T) => boolean | null }
  | { readonly kind: 'json'; readonly get: (row: T) => object | null };

export const token = <T>(get: (row: T) => string | null): Column<T> => ({ kind: 'token', get });
export const num = <T>(get: (row: T) => number | null): Column<T> => ({ kind: 'number', get });
export const bool = <T>(get: (row: T) => boolean | null): Column<T> => ({ kind: 'boolean', get });
export const json = <T>(get: (row: T) => object | null): Column<T> => ({ kind: 'json', get });

function element<T>(column: Column<T>, row: T): string {
  switch (column.kind) {
    case 'token':
      return column.get(row) ?? 'NULL';
    case 'number': {
      const value = column.get(row);
      return value === null ? 'NULL' : String(value);
    }
    case 'boolean': {
      const value = column.get(row);
      return value === null ? 'NULL' : value ? 't' : 'f';
    }
    case 'json': {
      const value = column.get(row);
      return value === null ? 'NULL' : `"${JSON.stringify(value).replace(/["\\]/g, '\\$&')}"`;
    }
  }
}

/**
 * The bind parameters of an `unnest` statement: one array literal per column, so a fixed handful
 * of parameters whatever the number of rows, never one per row.
 */
export function columnArrays<T>(rows: readonly T[], columns: Column<T>[]): string[] {
  return columns.map((column) => `{${rows.map((row) => element(column, row)).join(',')}}`);
}
