import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type { Topology } from './topology.js';

/** A fetch that brings nothing within this long means the end of the stream was reached. */
const FETCH_EXPIRES_MS = 1000;

/** The events stream's duplicate window: a resend within it is dropped by JetStream itself. */
export async function eventsDuplicateWindowMs(jsm: JetStreamManager, t: Topology): Promise<number> {
  return (await jsm.streams.info(t.eventsStream)).config.duplicate_window / 1e6;
}

/**
 * The ids (`Nats-Msg-Id`) of the events stored on `EVENTS` since `since`, read with an ordered
 * consumer that fetches headers only. For a takeover later than the duplicate window: the events
 * the previous owner published but did not record as published must not go out a second time.
 */
export async function eventIdsSince(js: JetStreamClient, t: Topology, since: Date): Promise<Set<string>> {
  const ids = new Set<string>();
  const consumer = await js.consumers.get(t.eventsStream, { filter_subjects: `${t.eventsPrefix}>`, opt_start_time: since.toISOString(), headers_only: true });
  for (;;) {
    let got = 0;
    for await (const msg of await consumer.fetch({ max_messages: 1000, expires: FETCH_EXPIRES_MS })) {
      const id = msg.headers?.get('Nats-Msg-Id');
      if (id) ids.add(id);
      got++;
    }
    if (got === 0) return ids;
  }
}
