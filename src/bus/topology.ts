/**
 * The names of every stream, subject and consumer fencewire uses (contract sections 1 and 3),
 * derived from the configured namespace. Production runs with an empty namespace; tests give
 * each run its own, e.g. `t1a2b` gives stream `T1A2B_TELEMETRY` on `t1a2b.telemetry.>`.
 */
export interface Topology {
  readonly telemetryStream: string;
  /** Subjects of reports start with this, followed by `<tenant>.<device>`. */
  readonly telemetryPrefix: string;
  readonly dlqStream: string;
  readonly dlqPrefix: string;
  /** Dead letters of the events stream: messages on it that are not fencewire's envelopes. */
  readonly eventsDlqPrefix: string;
  readonly eventsStream: string;
  readonly eventsPrefix: string;
  readonly ingestConsumer: string;
  /** The webhook worker's durable consumer of the events stream. */
  readonly webhookConsumer: string;
  /** Core NATS subject on which a tenant id announces that its geofences or rules changed. */
  readonly geofenceChanges: string;
  /**
   * Core NATS subject the server's configuration maps to `<probe>.<P>` when it partitions
   * telemetry into P partitions (docs/nats-server.conf); unmapped, it arrives as it was sent.
   */
  readonly partitionProbe: string;
  /** The KV bucket holding partition leases and processor heartbeats. */
  readonly leaseBucket: string;
  /**
   * Core NATS subjects (followed by the tenant) on which processors announce the latest positions
   * they refreshed the devices table with, for the API's live queries.
   */
  readonly devicesAnnounced: string;
}

/** Dead letters whose subject named no valid tenant go under this tenant token. */
export const UNROUTABLE_TENANT = '_unroutable';

export function topology(namespace: string): Topology {
  const subject = namespace === '' ? '' : `${namespace}.`;
  const stream = namespace === '' ? '' : `${namespace.toUpperCase()}_`;
  return {
    telemetryStream: `${stream}TELEMETRY`,
    telemetryPrefix: `${subject}telemetry.`,
    dlqStream: `${stream}DLQ`,
    dlqPrefix: `${subject}dlq.telemetry.`,
    eventsDlqPrefix: `${subject}dlq.events.`,
    eventsStream: `${stream}EVENTS`,
    eventsPrefix: `${subject}events.`,
    ingestConsumer: 'fencewire-ingest',
    webhookConsumer: 'fencewire-webhooks',
    geofenceChanges: `${subject}fencewire.geofences.changed`,
    partitionProbe: `${subject}fencewire.partitions`,
    leaseBucket: `${stream}fencewire-leases`,
    devicesAnnounced: `${subject}fencewire.devices.`,
  };
}

export function telemetrySubject(t: Topology, tenantId: string, deviceId: string): string {
  return `${t.telemetryPrefix}${tenantId}.${deviceId}`;
}

export function dlqSubject(t: Topology, tenantId: string | null): string {
  return `${t.dlqPrefix}${tenantId ?? UNROUTABLE_TENANT}`;
}

export function eventsDlqSubject(t: Topology, tenantId: string | null): string {
  return `${t.eventsDlqPrefix}${tenantId ?? UNROUTABLE_TENANT}`;
}
