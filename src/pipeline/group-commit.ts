import { CoalescingWriter, type ItemOutcome } from '../coalescing-writer.js';
import type { DerivedEvent } from '../core/event.js';
import { FencedError, UnstorableError } from '../errors.js';
import type { Metrics } from '../metrics.js';
import type { BatchStore, PartitionBatch } from '../core/ingest-ports.js';

/** How a partition's pipeline commits a batch. */
export interface BatchWriter {
  /** The batch's new events once it is committed; FencedError when its hold is stale. */
  write(batch: PartitionBatch): Promise<DerivedEvent[]>;
}

/**
 * Group commit across the partitions a processor holds: whatever batches the partitions hand
 * in while a commit runs are written together by the next, in one transaction. A processor
 * then commits about as often as its database answers, however many partitions it holds,
 * instead of once per partition (the database's per-transaction cost was most of its CPU at a
 * steady 10 000 fixes/s over 8 partitions). Each partition still has one batch in flight at most.
 * A group PostgreSQL refuses for its data is written again batch by batch, so that only the
 * partition whose batch holds the bad row hears of it; the others are committed.
 */
export class GroupCommitter implements BatchWriter {
  private readonly groups = new CoalescingWriter<PartitionBatch, DerivedEvent[]>((group) => this.commit(group));

  constructor(private readonly store: BatchStore, private readonly metrics: Metrics) {}

  write(batch: PartitionBatch): Promise<DerivedEvent[]> {
    return this.groups.write(batch);
  }

  private async commit(group: readonly PartitionBatch[]): Promise<ItemOutcome<DerivedEvent[]>[]> {
    const { metrics } = this;
    const fixes = group.reduce((n, batch) => n + batch.fixes.length, 0);
    const timer = metrics.writeDuration.startTimer();
    try {
      const outcome = await this.store.writeBatches(group);
      timer();
      metrics.batchSize.observe(fixes);
      metrics.fixesWritten.inc(outcome.inserted);
      const fenced = group.filter((batch) => outcome.fenced.has(batch.hold.lane));
      metrics.fixesDuplicate.inc(fixes - outcome.inserted - fenced.reduce((n, batch) => n + batch.fixes.length, 0));
      return group.map((batch) => outcome.fenced.has(batch.hold.lane)
        ? { ok: false, error: new FencedError(batch.hold.partition, batch.hold.epoch) }
        : { ok: true, value: batch.events.filter((e) => outcome.recorded.has(e.id)) });
    } catch (err) {
      metrics.writeFailures.inc();
      if (err instanceof UnstorableError && group.length > 1) {
        const apart: ItemOutcome<DerivedEvent[]>[] = [];
        for (const one of group) apart.push(...(await this.commit([one])));
        return apart;
      }
      return group.map(() => ({ ok: false, error: err }));
    }
  }
}
