import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import type { TelemetryMessage } from '../decode/telemetry-message.js';
import type { DevicePosition } from '../core/fix.js';
import { announceDevices } from './device-announcements.js';
import { eventIdsSince, eventsDuplicateWindowMs } from './events-stream.js';
import { LeaseTable } from './leases.js';
import { PartitionConsumer, type PartitionConsumerDeps } from './partition-consumer.js';
import { discoverPartitions } from './partitions.js';

/** What the ingest processor needs of NATS: partitions, leases, consumers and EVENTS' history. */
export interface IngestBus {
  /** How many partitions the telemetry subjects are mapped into (1: not partitioned). */
  partitionCount(): Promise<number>;
  /** The lease bucket, as `owner` sees it. */
  openLeases(owner: string, leaseMs: number, partitions: number, log: Logger): Promise<LeaseTable>;
  /** A partition's consumer at `epoch`, feeding `pipeline` from stream sequence `startSeq`. */
  consume(partition: number, partitions: number, startSeq: number, epoch: number, pipeline: { accept(msg: TelemetryMessage): void }): Promise<PartitionConsumer>;
  /** The EVENTS stream's duplicate window: a republish within it is dropped by JetStream. */
  eventsDuplicateWindowMs(): Promise<number>;
  /** The ids of the events on EVENTS stored since `since`. */
  eventIdsSince(since: Date): Promise<Set<string>>;
  /** Tells the API processes the latest positions the devices table was refreshed with. */
  announceDevices(positions: readonly DevicePosition[]): void;
}

export interface NatsIngestConnections extends PartitionConsumerDeps {
  /**
   * The connection for leases and heartbeats: one of their own, so that a renewal's answer never
   * waits behind the telemetry a busy processor is being sent on the data connection.
   */
  readonly control: NatsConnection;
  /** The data connection: announcements go out on it. */
  readonly nc: NatsConnection;
}

export function natsIngestBus(connections: NatsIngestConnections): IngestBus {
  const { control, nc, js, jsm, topology } = connections;
  return {
    partitionCount: () => discoverPartitions(control, topology),
    openLeases: (owner, leaseMs, partitions, log) => LeaseTable.open(control, topology, owner, leaseMs, partitions, log),
    consume: (partition, partitions, startSeq, epoch, pipeline) => PartitionConsumer.start(connections, partition, partitions, startSeq, epoch, pipeline),
    eventsDuplicateWindowMs: () => eventsDuplicateWindowMs(jsm, topology),
    eventIdsSince: (since) => eventIdsSince(js, topology, since),
    announceDevices: (positions) => announceDevices(nc, topology, positions),
  };
}
