/** How one item's part of a group write came out. */
export type ItemOutcome<O> = { readonly ok: true; readonly value: O } | { readonly ok: false; readonly error: unknown };

/**
 * Coalesced writes: the items handed in while one write runs go together into the next, so that
 * a busy writer commits many items per transaction, one transaction at a time. `writeGroup`
 * answers an outcome per item, in order (a write that throws fails every item of its group).
 */
export class CoalescingWriter<I, O> {
  private waiting: { item: I; resolve(value: O): void; reject(err: unknown): void }[] = [];
  private writing: Promise<void> | null = null;

  constructor(private readonly writeGroup: (items: readonly I[]) => Promise<readonly ItemOutcome<O>[]>) {}

  /** Resolves once the item is written, to what its write answered. */
  write(item: I): Promise<O> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ item, resolve, reject });
      this.writing ??= this.writeAll();
    });
  }

  /** Resolves once everything handed in so far is written. */
  async flushed(): Promise<void> {
    while (this.writing) await this.writing;
  }

  private async writeAll(): Promise<void> {
    while (this.waiting.length > 0) {
      const group = this.waiting;
      this.waiting = [];
      try {
        const outcomes = await this.writeGroup(group.map((w) => w.item));
        group.forEach((w, i) => {
          const outcome = outcomes[i];
          if (outcome?.ok) w.resolve(outcome.value);
          else w.reject(outcome === undefined ? new RangeError(`the group write answered ${outcomes.length} outcomes for ${group.length} items`) : outcome.error);
        });
      } catch (err) {
        for (const w of group) w.reject(err);
      }
    }
    this.writing = null;
  }
}
