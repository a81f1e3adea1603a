import type { Encoding, RejectedReport } from './message.js';

/** One telemetry message as the pipeline needs it, whatever the transport (bus/partition-consumer.ts hands JetStream's in). */
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
