import { describe, expect, it } from 'vitest';
import { CoalescingWriter, type ItemOutcome } from '../../src/coalescing-writer.js';

/** A writer whose group writes wait until released, recording each group it was given. */
function gatedWriter(answer: (items: readonly number[]) => ItemOutcome<string>[]) {
  const groups: number[][] = [];
  let release: () => void = () => undefined;
  const writer = new CoalescingWriter<number, string>(async (items) => {
    groups.push([...items]);
    await new Promise<void>((resolve) => (release = resolve));
    return answer(items);
  });
  return { writer, groups, release: () => release() };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('CoalescingWriter', () => {
  it('writes what arrives during one write together in the next, one write at a time', async () => {
    const { writer, groups, release } = gatedWriter((items) => items.map((n) => ({ ok: true, value: `wrote ${n}` })));
    const first = writer.write(1);
    const later = [writer.write(2), writer.write(3)];
    await settle();
    expect(groups).toEqual([[1]]);
    release();
    expect(await first).toBe('wrote 1');
    await settle();
    expect(groups).toEqual([[1], [2, 3]]);
    release();
    expect(await Promise.all(later)).toEqual(['wrote 2', 'wrote 3']);
    await writer.flushed();
  });

  it('fails only the items whose outcome is an error, and every item of a group whose write throws', async () => {
    const { writer, release } = gatedWriter((items) => items.map((n) => (n % 2 === 0 ? { ok: false, error: new Error(`refused ${n}`) } : { ok: true, value: `wrote ${n}` })));
    const odd = writer.write(1);
    const even = writer.write(2);
    await settle();
    release();
    await settle();
    release();
    expect(await odd).toBe('wrote 1');
    await expect(even).rejects.toThrow('refused 2');

    const throwing = new CoalescingWriter<number, string>(() => Promise.reject(new Error('database away')));
    await expect(Promise.all([throwing.write(1), throwing.write(2)])).rejects.toThrow('database away');
    await expect(throwing.write(3)).rejects.toThrow('database away');
  });

  it('refuses to resolve items a group write forgot to answer', async () => {
    const short = new CoalescingWriter<number, string>(() => Promise.resolve([]));
    await expect(short.write(7)).rejects.toThrow('answered 0 outcomes for 1 items');
  });
});
