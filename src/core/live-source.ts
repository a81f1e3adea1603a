/** A message from the bus as the live stream needs it. */
export interface LiveMessage {
  readonly subject: string;
  readonly data: Uint8Array;
  /** A header's value, for the content type and to skip commands. */
  header(name: string): string | undefined;
}

/** Core subscriptions on the bus (no JetStream consumer: a live view keeps nothing). */
export interface LiveSource {
  /** Subjects of a tenant's reports and events. */
  readonly telemetryPrefix: string;
  readonly eventsPrefix: string;
  subscribe(subject: string, onMessage: (msg: LiveMessage) => void): () => void;
}
