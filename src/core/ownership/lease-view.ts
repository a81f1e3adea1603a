/**
 * What a processor knows of the lease bucket, from watching it: which processors are alive and
 * who holds each partition. Pure (times are passed in), so that it can be tested against any
 * interleaving of what the bucket says. Entries that expire in the bucket (their holder stopped
 * renewing) vanish without a word, so an entry counts only while it was heard within the lease
 * time, on this processor's own clock.
 */
export class LeaseView {
  private readonly processors = new Map<string, number>();
  private readonly holders = new Map<number, { readonly owner: string; readonly heardAt: number }>();
  private readonly releasedAt = new Map<number, number>();

  constructor(private readonly leaseMs: number, private readonly partitions: number, private readonly startedAt: number) {}

  /** A change of the bucket heard at `at`: a put of `key` with `value`, or its delete. */
  observe(key: string, deleted: boolean, value: string, at: number): void {
    if (key.startsWith(PROCESSOR_PREFIX)) {
      const name = key.slice(PROCESSOR_PREFIX.length);
      if (deleted) this.processors.delete(name);
      else this.processors.set(name, at);
      return;
    }
    const partition = partitionOfKey(key);
    if (partition === null) return;
    if (deleted) {
      this.holders.delete(partition);
      this.releasedAt.set(partition, at);
    } else {
      this.holders.set(partition, { owner: value, heardAt: at });
    }
  }

  /** True once a heartbeat of `processor` was heard (the watcher has caught up to it). */
  heard(processor: string): boolean {
    return this.processors.has(processor);
  }

  /** Processors whose heartbeat was heard within the lease time (at least one: the caller). */
  live(now: number): number {
    let live = 0;
    for (const heardAt of this.processors.values()) if (now - heardAt < this.leaseMs) live++;
    return Math.max(1, live);
  }

  /** Who holds the partition now, as far as was heard; null when nobody does. */
  holder(partition: number, now: number): string | null {
    const held = this.holders.get(partition);
    return held !== undefined && now - held.heardAt < this.leaseMs ? held.owner : null;
  }

  /**
   * Partitions nobody has held for a whole lease time: released and not taken, or left by a
   * processor that died. Any processor takes these, whatever its share, so that a partition is
   * never left without an owner because the processors below their share cannot be counted on.
   */
  stranded(now: number): number[] {
    const stranded: number[] = [];
    for (let partition = 0; partition < this.partitions; partition++) {
      const held = this.holders.get(partition);
      const freeSince = held !== undefined ? held.heardAt + this.leaseMs : this.releasedAt.get(partition) ?? this.startedAt;
      if (now - freeSince >= this.leaseMs) stranded.push(partition);
    }
    return stranded;
  }
}

export const PROCESSOR_PREFIX = 'processor.';
const PARTITION_KEY = /^partition\.(\d+)$/;

export function partitionKey(partition: number): string {
  return `partition.${partition}`;
}

function partitionOfKey(key: string): number | null {
  const match = PARTITION_KEY.exec(key);
  return match === null ? null : Number(match[1]);
}
