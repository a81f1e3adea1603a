import type { ConsumerMessages, JetStreamClient, JsMsg } from '@nats-io/jetstream';
import type { Rejection } from '../decode/rejection.js';
import { publishDeadLetter } from './dead-letter.js';
import { eventsDlqSubject, type Topology } from './topology.js';

/** One message of `EVENTS` as the webhook worker takes it. */
export interface FedEvent {
  readonly subject: string;
  readonly seq: number;
  /** Its `Nats-Msg-Id`: the event's id, as the publisher set it. */
  readonly msgId: string | undefined;
  readonly data: Uint8Array;
  ack(): void;
  /** Keeps the bus from redelivering it while it is still being worked on. */
  working(): void;
  /** Puts it aside on the events' dead-letter subject of `tenantId`, with why. */
  deadLetter(tenantId: string | null, rejection: Rejection): Promise<void>;
}

/** The webhook worker's durable subscription to `EVENTS`. */
export interface EventFeed {
  /**
   * Hands every message to `take`, holding at most `maxMessages` unacknowledged. `ended`
   * settles when the subscription stops delivering (rejects when it stopped on an error).
   */
  open(take: (msg: FedEvent) => void, maxMessages: number): Promise<{ readonly ended: Promise<void>; close(): Promise<void> }>;
  /** Where event subjects begin: `<prefix><tenant>.<type>`. */
  readonly eventsPrefix: string;
}

/** `maxPayload`: the NATS server's max_payload, which a dead letter must fit in. */
export function jetStreamEventFeed(js: JetStreamClient, topology: Topology, maxPayload: number): EventFeed {
  const fed = (msg: JsMsg): FedEvent => ({
    subject: msg.subject,
    seq: msg.seq,
    msgId: msg.headers?.get('Nats-Msg-Id') || undefined,
    data: msg.data,
    ack: () => msg.ack(),
    working: () => msg.working(),
    deadLetter: (tenantId, rejection) =>
      publishDeadLetter(js, eventsDlqSubject(topology, tenantId), msg, { index: null, rejection, report: null }, 'json', maxPayload, `events-${msg.seq}`),
  });
  return {
    eventsPrefix: topology.eventsPrefix,
    async open(take, maxMessages) {
      const consumer = await js.consumers.get(topology.eventsStream, topology.webhookConsumer);
      const messages: ConsumerMessages = await consumer.consume({ max_messages: maxMessages });
      const ended = (async () => {
        for await (const msg of messages) take(fed(msg));
      })();
      return { ended, close: async () => void (await messages.close()) };
    },
  };
}
