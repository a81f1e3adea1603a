import type { DerivedEvent } from '../core/event.js';
import type { Fix } from '../core/fix.js';
import type { TelemetryMessage } from '../decode/telemetry-message.js';

/** Messages taken together for one commit, with what the rules made of them. */
export interface Batch {
  readonly messages: TelemetryMessage[];
  readonly fixes: Fix[];
  readonly events: DerivedEvent[];
  /** When the stream stored the fix behind each event, by event id (the latency metric's start). */
  readonly causedAt: Map<string, number>;
  /** Dead letters of the batch's messages: stored before the messages are acknowledged. */
  readonly deadLetters: Promise<void>[];
  /** Stream sequence of its last message (0 while it has none). */
  lastSeq: number;
}

export function emptyBatch(): Batch {
  return { messages: [], fixes: [], events: [], causedAt: new Map(), deadLetters: [], lastSeq: 0 };
}

/**
 * Adds an event to a batch not yet committed, netting a late fix's correction against the
 * batch: the retraction of an event of the same batch removes that event instead (it was never
 * sent), and an event derived again while its retraction waits in the batch removes the
 * retraction instead (the event committed earlier stands). One statement could not both write
 * an event and mark it retracted. False when the event was netted away.
 */
export function addEvent(batch: Batch, event: DerivedEvent): boolean {
  const retraction = event.type === 'event.retracted';
  // Only a correction's events can net: the scan stays off the path of every other event.
  const netted = retraction ? batch.events.findIndex((e) => e.id === event.data.retracted_id)
    : event.late === true ? batch.events.findIndex((e) => e.type === 'event.retracted' && e.data.retracted_id === event.id)
      : -1;
  if (netted >= 0) {
    batch.events.splice(netted, 1);
    return false;
  }
  batch.events.push(event);
  return true;
}
