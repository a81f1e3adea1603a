/**
 * Lists of indices packed into two flat arrays (compressed sparse rows): the items of list k are
 * `items[start[k]]` up to `items[start[k + 1] - 1]`. Two allocations instead of one array per
 * list, and a lookup scans contiguous memory.
 */
export interface PackedLists {
  readonly start: Uint32Array;
  readonly items: Uint32Array;
}

export function packLists(lists: readonly (readonly number[])[]): PackedLists {
  const start = new Uint32Array(lists.length + 1);
  let total = 0;
  lists.forEach((list, k) => {
    start[k] = total;
    total += list.length;
  });
  start[lists.length] = total;
  const items = new Uint32Array(total);
  lists.forEach((list, k) => items.set(list, start[k] as number));
  return { start, items };
}
