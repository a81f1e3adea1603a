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

