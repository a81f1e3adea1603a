import type { NatsConnection } from '@nats-io/transport-node';
import type { Topology } from './topology.js';
import { orAfter } from '../timeout.js';
import { FencewireError } from '../errors.js';

const PROBE_TIMEOUT_MS = 2000;

/**
 * How many partitions the NATS server maps telemetry into: the project's server configuration
 * maps the probe subject to `<probe>.<P>` beside the telemetry mapping (docs/nats-server.conf).
 * A server without it (the machine's plain NATS) delivers the probe unchanged: one partition.
 */
export async function discoverPartitions(nc: NatsConnection, t: Topology): Promise<number> {
  const mapped = nc.subscribe(`${t.partitionProbe}.*`, { max: 1 });
  const plain = nc.subscribe(t.partitionProbe, { max: 1 });
  const first = async (sub: typeof mapped): Promise<string | null> => {
    for await (const msg of sub) return msg.subject;
    return null;
  };
  try {
    const answer = orAfter(Promise.race([first(mapped), first(plain)]), PROBE_TIMEOUT_MS, null);
    await nc.flush();
    nc.publish(t.partitionProbe);
    const subject = await answer;
    if (subject === null) throw new FencewireError('partition_probe_unanswered', `no answer on ${t.partitionProbe} within ${PROBE_TIMEOUT_MS} ms`);
    if (subject === t.partitionProbe) return 1;
    const partitions = Number(subject.slice(t.partitionProbe.length + 1));
    if (!Number.isInteger(partitions) || partitions < 1 || partitions > 1024) {
      throw new FencewireError('partition_mapping_invalid', `the server maps ${t.partitionProbe} to "${subject}": the last token must be the partition count (1-1024)`);
    }
    return partitions;
  } finally {
    mapped.unsubscribe();
    plain.unsubscribe();
  }
}

/** The stored subjects of one partition's telemetry. */
export function partitionFilter(t: Topology, partition: number, partitions: number): string {
  return partitions > 1 ? `${t.telemetryPrefix}*.*.${partition}` : `${t.telemetryPrefix}>`;
}

/** What the durable consumers of one partition are named before their epoch (unpartitioned, the one ingest consumer's). */
export function partitionConsumerBase(t: Topology, partition: number, partitions: number): string {
  return partitions > 1 ? `${t.ingestConsumer}-${partition}` : t.ingestConsumer;
}

/**
 * The durable consumer of one partition's owner at `epoch`. A name per epoch: an owner that lost
 * the partition (paused, cut off) and comes back late can neither delete the new owner's
 * consumer nor pull from it, since it knows only its own.
 */
export function partitionConsumer(t: Topology, partition: number, partitions: number, epoch: number): string {
  return `${partitionConsumerBase(t, partition, partitions)}-e${epoch}`;
}

/** The epoch in a partition consumer's name; -1 for the one name before epochs, null for another partition's. */
export function consumerEpoch(t: Topology, partition: number, partitions: number, name: string): number | null {
  const base = partitionConsumerBase(t, partition, partitions);
  if (name === base) return -1;
  const match = /^-e(\d+)$/.exec(name.slice(base.length));
  return name.startsWith(base) && match !== null ? Number(match[1]) : null;
}
