import { AckPolicy, DeliverPolicy, DiscardPolicy, JetStreamApiCodes, RetentionPolicy, StorageType, type JetStreamManager, type StreamConfig } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import { isJetStreamError } from './api-errors.js';
import { consumerEpoch, partitionConsumer, partitionFilter } from './partitions.js';
import type { Topology } from './topology.js';

const DAY_MS = 24 * 60 * 60 * 1000;

export interface StreamSettings {
  /** How long raw telemetry stays in its stream after it is stored in the database. */
  readonly telemetryMaxAgeMs: number;
  readonly dlqMaxAgeMs: number;
  readonly eventsMaxAgeMs: number;
  /** Bytes each stream may hold (JetStream reserves them on the server). */
  readonly telemetryMaxBytes: number;
  readonly dlqMaxBytes: number;
  readonly eventsMaxBytes: number;
  /** JetStream drops an event published again within this long (by its Nats-Msg-Id). */
  readonly eventsDuplicateWindowMs: number;
}

export const DEFAULT_STREAM_SETTINGS: StreamSettings = {
  telemetryMaxAgeMs: 7 * DAY_MS,
  dlqMaxAgeMs: 30 * DAY_MS,
  eventsMaxAgeMs: 30 * DAY_MS,
  telemetryMaxBytes: 4 * 1024 ** 3,
  dlqMaxBytes: 512 * 1024 ** 2,
  eventsMaxBytes: 2 * 1024 ** 3,
  eventsDuplicateWindowMs: 2 * 60 * 1000,
};

/**
 * The streams, each bounded in bytes as well as age, so that no publisher can fill the server's
 * disk. A full TELEMETRY or EVENTS refuses new messages (publishers see the error and retry; the
 * outbox keeps its events in the database meanwhile) rather than dropping ones not yet
 * processed; a full DLQ drops its oldest dead letters, which are only diagnostics.
 */
function streamConfigs(t: Topology, settings: StreamSettings): (Partial<StreamConfig> & { name: string })[] {
  const common = { storage: StorageType.File, retention: RetentionPolicy.Limits };
  return [
    { ...common, name: t.telemetryStream, subjects: [`${t.telemetryPrefix}>`], max_age: nanos(settings.telemetryMaxAgeMs), max_bytes: settings.telemetryMaxBytes, discard: DiscardPolicy.New },
    { ...common, name: t.dlqStream, subjects: [`${t.dlqPrefix}>`, `${t.eventsDlqPrefix}>`], max_age: nanos(settings.dlqMaxAgeMs), max_bytes: settings.dlqMaxBytes, discard: DiscardPolicy.Old },
    { ...common, name: t.eventsStream, subjects: [`${t.eventsPrefix}>`], max_age: nanos(settings.eventsMaxAgeMs), max_bytes: settings.eventsMaxBytes, discard: DiscardPolicy.New, duplicate_window: nanos(settings.eventsDuplicateWindowMs) },
  ];
}

/**
 * Creates the streams that are missing. An existing stream is left as it is (an operator may
 * have tuned it, and fencewire never deletes data it did not create), but for subjects of ours
 * it does not capture yet, which are added (the events' dead letters came after the first DLQ).
 */
export async function ensureStreams(jsm: JetStreamManager, t: Topology, settings = DEFAULT_STREAM_SETTINGS): Promise<string[]> {
  const created: string[] = [];
  for (const config of streamConfigs(t, settings)) {
    try {
      const existing = (await jsm.streams.info(config.name)).config;
      const missing = (config.subjects ?? []).filter((subject) => !existing.subjects.includes(subject));
      if (missing.length > 0) await jsm.streams.update(config.name, { ...existing, subjects: [...existing.subjects, ...missing] });
    } catch (err) {
      if (!isJetStreamError(err, JetStreamApiCodes.StreamNotFound)) throw err;
      await jsm.streams.add(config);
      created.push(config.name);
    }
  }
  return created;
}

export interface IngestConsumerSettings {
  readonly maxInFlight: number;
  readonly ackWaitMs: number;
}

/**
 * (Re)creates the durable pull consumer of one partition to deliver, in stream order, every
 * message from `startSeq` on. The partition's new owner does this when it takes the partition:
 * where to start is what the database says was committed, not what the consumer remembers, and
 * deleting the old consumer also ends the pulls of a previous owner that may still be alive
 * (paused, partitioned away) so that it cannot take messages meant for the new one.
 * `max_ack_pending` bounds what is held but not committed: a slow database becomes
 * back-pressure, not memory growth.
 */
/**
 * A partition's share of the messages ingest may hold unacknowledged: INGEST_MAX_IN_FLIGHT is
 * the bound for the whole processor, whatever number of partitions it holds.
 */
export function partitionInFlight(maxInFlight: number, partitions: number): number {
  return Math.max(100, Math.ceil(maxInFlight / partitions));
}

/** A partition consumer no one pulls from for this long (left by an owner that died) is removed by the server. */
const ABANDONED_CONSUMER_MS = 10 * 60 * 1000;

export async function startPartitionConsumer(
  jsm: JetStreamManager, t: Topology, partition: number, partitions: number, settings: IngestConsumerSettings, startSeq: number, epoch: number,
): Promise<string> {
  const name = partitionConsumer(t, partition, partitions, epoch);
  // Earlier owners' consumers go (their pulls end with them); a later owner's is never touched.
  for await (const info of await jsm.consumers.list(t.telemetryStream)) {
    const earlier = consumerEpoch(t, partition, partitions, info.name);
    if (earlier === null || earlier >= epoch) continue;
    await jsm.consumers.delete(t.telemetryStream, info.name).catch((err: unknown) => {
      if (!isJetStreamError(err, JetStreamApiCodes.ConsumerNotFound)) throw err;
    });
  }
  await jsm.consumers.add(t.telemetryStream, {
    durable_name: name,
    inactive_threshold: nanos(ABANDONED_CONSUMER_MS),
    filter_subject: partitionFilter(t, partition, partitions),
    // Messages of a partition are committed in stream order, so one ack covers a whole batch.
    ack_policy: AckPolicy.All,
    max_ack_pending: partitionInFlight(settings.maxInFlight, partitions),
    ack_wait: nanos(settings.ackWaitMs),
    ...(startSeq > 1 ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: startSeq } : { deliver_policy: DeliverPolicy.All }),
  });
  return name;
}

/** Events the webhook worker may hold unacknowledged: a few fan-out batches. */
const WEBHOOK_MAX_ACK_PENDING = 2000;
const WEBHOOK_ACK_WAIT_MS = 30_000;

/**
 * The webhook worker's durable consumer of `EVENTS`. Created to start at new events: endpoints
 * exist for what happens from now on, not for the stream's 30 days of history.
 */
export async function ensureWebhookConsumer(jsm: JetStreamManager, t: Topology): Promise<void> {
  try {
    await jsm.consumers.info(t.eventsStream, t.webhookConsumer);
  } catch (err) {
    if (!isJetStreamError(err, JetStreamApiCodes.ConsumerNotFound)) throw err;
    await jsm.consumers.add(t.eventsStream, {
      durable_name: t.webhookConsumer,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.New,
      max_ack_pending: WEBHOOK_MAX_ACK_PENDING,
      ack_wait: nanos(WEBHOOK_ACK_WAIT_MS),
    });
  }
}
