import type { Logger } from 'pino';
import type { IngestBus } from '../bus/ingest-bus.js';
import type { DerivedEvent } from '../core/event.js';
import type { PartitionClaim, PartitionStore } from '../core/ingest-ports.js';
import type { PartitionPublisher } from '../events/event-publisher.js';

/** Republishing relies on the duplicate window only for events committed this well inside it. */
const DUPLICATE_WINDOW_MARGIN_MS = 30_000;
/** The database's clock (commit times) and NATS's (stored times) may differ by this much. */
const CLOCK_SKEW_MS = 60_000;

export interface TakeoverDeps {
  readonly partitions: Pick<PartitionStore, 'unpublished'>;
  readonly bus: Pick<IngestBus, 'eventsDuplicateWindowMs' | 'eventIdsSince'>;
  readonly log: Logger;
}

/**
 * A new owner's first duty: publish what the previous owner committed past its watermark,
 * batch by batch in order, less what it had published already when that was longer ago than
 * JetStream's duplicate window (which would otherwise drop the second copy): those ids are read
 * back from EVENTS.
 */
export async function republishUnpublished(claim: PartitionClaim, publisher: PartitionPublisher, deps: TakeoverDeps): Promise<void> {
  const rows = await notOnEventsYet(await deps.partitions.unpublished(claim), deps);
  // Rows come in sequence order, and a Map keeps the order its keys were first set in.
  const bySeq = new Map<number, DerivedEvent[]>();
  for (const row of rows) {
    let events = bySeq.get(row.seq);
    if (events === undefined) bySeq.set(row.seq, (events = []));
    events.push(row.event);
  }
  for (const [seq, events] of bySeq) publisher.enqueue(seq, events);
  publisher.enqueue(claim.committedSeq, []);
  if (rows.length > 0) deps.log.info({ partition: claim.partition, events: rows.length }, 'republishing events the previous owner left unpublished');
}

/** Of the committed events past a watermark, those not on EVENTS for certain. */
async function notOnEventsYet<T extends { readonly event: DerivedEvent; readonly committedAt: number }>(rows: T[], { bus, log }: TakeoverDeps): Promise<T[]> {
  if (rows.length === 0) return rows;
  // A loop, not Math.min(...): after a long NATS outage the rows may be more than a call's arguments.
  const oldest = rows.reduce((min, row) => Math.min(min, row.committedAt), Number.POSITIVE_INFINITY);
  if (Date.now() - oldest < (await bus.eventsDuplicateWindowMs()) - DUPLICATE_WINDOW_MARGIN_MS) return rows;
  const published = await bus.eventIdsSince(new Date(oldest - CLOCK_SKEW_MS));
  const rest = rows.filter((row) => !published.has(row.event.id));
  if (rest.length < rows.length) log.info({ alreadyPublished: rows.length - rest.length }, 'events the previous owner published but had not recorded are not sent again');
  return rest;
}
