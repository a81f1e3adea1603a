import type { DerivedEvent } from '../core/event.js';
import type { Fix } from '../core/fix.js';
import type { Encoding, RejectedReport } from '../decode/message.js';

/** One telemetry message as the pipeline needs it, whatever the transport. */
export interface TelemetryMessage {
  /** Stream sequence: the partition's position, committed with the batch. */
  readonly seq: number;
  readonly subject: string;
  readonly data: Uint8Array;
  readonly contentType: string | undefined;
  /** The `Fencewire-Command` header and its signature: a command (driver assignment) rather than reports. */
  readonly command: { readonly name: string; readonly signature: string | undefined } | undefined;
  /**
   * When the stream stored the message (epoch ms): the receive time the rules and the decoder's
   * future check see, the same on every replay of the message.
   */
  readonly storedAt: number;
  /** Acknowledges this message and, the consumer acking all, every earlier one of the partition. */
  ack(): void;
  /** Tells the transport the message is still being worked on (no redelivery yet). */
  working(): void;
  /**
   * Copies a refused report of this message to the dead-letter subject; resolves once stored,
   * rejects with an UnstorableError when the dead letter cannot be stored however often it is tried.
   */
  deadLetter(tenantId: string | null, refused: RejectedReport, encoding: Encoding): Promise<void>;
}

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

