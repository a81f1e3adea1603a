import type { Logger } from 'pino';
import type { DerivedEvent } from '../core/event.js';
import type { Fix } from '../core/fix.js';
import { refuseDecodedFixes } from '../decode/message.js';
import type { SubjectLayout } from '../decode/subject.js';
import type { Metrics } from '../metrics.js';
import type { BatchStore, PartitionBatch, PartitionClaim } from '../core/ingest-ports.js';
import type { Batch } from './batch.js';
import { storeDeadLetter } from './dead-letters.js';
import type { RuleEngine } from './rule-engine.js';

export interface UnstorableDeps {
  readonly store: Pick<BatchStore, 'unstorable'>;
  readonly engine: Pick<RuleEngine, 'slotWithLatest'>;
  readonly layout: SubjectLayout;
  readonly claim: PartitionClaim;
  readonly metrics: Metrics;
  readonly log: Logger;
  /** Keeps a refused fix out of the devices table. */
  readonly unmoved: (slot: number) => void;
}

/**
 * A batch PostgreSQL refused for its data, without the rows it refuses: their reports
 * dead-lettered as `unstorable` (acknowledged with the batch), refused events logged and
 * counted. The device states keep what the rules made of those fixes: this is the last line
 * behind the decoder, which refuses what it knows PostgreSQL cannot store. Null when no row is
 * refused alone (the commit is retried as it is).
 */
export async function withoutUnstorable(batch: Batch, contents: PartitionBatch, deps: UnstorableDeps): Promise<PartitionBatch | null> {
  const { store, metrics, log, layout, claim, engine } = deps;
  const refused = await store.unstorable(contents.fixes, contents.events);
  if (refused.fixes.length === 0 && refused.events.length === 0) return null;
  // By the fix's place in the batch as its messages gave it: `contents` may be a retry's, with
  // rows left out by an earlier pass.
  const inBatch = new Map(batch.fixes.map((fix, i) => [fix, i]));
  const fixReasons = new Map(refused.fixes.map((row) => [inBatch.get(contents.fixes[row.index] as Fix), `PostgreSQL refused to store this report: ${row.reason}`]));
  let offset = 0;
  for (const msg of batch.messages) {
    if (fixReasons.size === 0) break;
    if (msg.command !== undefined) continue;
    const first = offset;
    const found = refuseDecodedFixes(msg.subject, layout, msg.data, msg.contentType, msg.storedAt, 'unstorable', (position) => fixReasons.get(first + position));
    offset += found.fixes;
    for (const report of found.refused) batch.deadLetters.push(storeDeadLetter(msg, found.tenantId, report, found.encoding, log, metrics));
  }
  for (const row of refused.fixes) {
    const fix = contents.fixes[row.index] as Fix;
    const slot = engine.slotWithLatest(fix);
    if (slot !== undefined) deps.unmoved(slot);
    metrics.unstorable.inc({ kind: 'fix' });
  }
  for (const row of refused.events) {
    const event = contents.events[row.index] as DerivedEvent;
    log.error({ eventId: event.id, type: event.type, tenantId: event.tenantId, reason: row.reason, partition: claim.partition }, 'PostgreSQL refused an event; it is left out');
    metrics.unstorable.inc({ kind: 'event' });
  }
  const badFixes = new Set(refused.fixes.map((row) => row.index));
  const badEvents = new Set(refused.events.map((row) => row.index));
  return {
    ...contents,
    fixes: contents.fixes.filter((_fix, i) => !badFixes.has(i)),
    events: contents.events.filter((_event, i) => !badEvents.has(i)),
  };
}
