import { AckPolicy, DeliverPolicy, JetStreamApiError, RetentionPolicy, StorageType, type JetStreamManager, type StreamConfig } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import type { Topology } from './topology.js';

const DAY_MS = 24 * 60 * 60 * 1000;
const STREAM_NOT_FOUND = 10059;
const CONSUMER_NOT_FOUND = 10014;

function isApiError(err: unknown, code: number): boolean {
  return err instanceof JetStreamApiError && err.code === code;
}

export interface StreamSettings {
  /** How long raw telemetry stays in its stream after it is stored in the database. */
  readonly telemetryMaxAgeMs: number;
  readonly dlqMaxAgeMs: number;
  readonly eventsMaxAgeMs: number;
}

export const DEFAULT_STREAM_SETTINGS: StreamSettings = {
  telemetryMaxAgeMs: 7 * DAY_MS,
  dlqMaxAgeMs: 30 * DAY_MS,
  eventsMaxAgeMs: 30 * DAY_MS,
};

function streamConfigs(t: Topology, settings: StreamSettings): (Partial<StreamConfig> & { name: string })[] {
  const common = { storage: StorageType.File, retention: RetentionPolicy.Limits };
  return [
    { ...common, name: t.telemetryStream, subjects: [`${t.telemetryPrefix}>`], max_age: nanos(settings.telemetryMaxAgeMs) },
    { ...common, name: t.dlqStream, subjects: [`${t.dlqPrefix}>`], max_age: nanos(settings.dlqMaxAgeMs) },
    { ...common, name: t.eventsStream, subjects: [`${t.eventsPrefix}>`], max_age: nanos(settings.eventsMaxAgeMs) },
  ];
}

/**
 * Creates the streams that are missing. An existing stream is left exactly as it is: an
 * operator may have tuned it, and fencewire never deletes data it did not create.
 */
export async function ensureStreams(jsm: JetStreamManager, t: Topology, settings = DEFAULT_STREAM_SETTINGS): Promise<string[]> {
  const created: string[] = [];
  for (const config of streamConfigs(t, settings)) {
    try {
      await jsm.streams.info(config.name);
    } catch (err) {
      if (!isApiError(err, STREAM_NOT_FOUND)) throw err;
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
 * The durable pull consumer of ingest. `max_ack_pending` bounds the messages held but not yet
 * committed, which is what turns a slow database into back-pressure instead of memory growth.
 *
 * Messages left unacknowledged by a process that died would come back only after `ack_wait`,
 * behind newer messages of the same devices, and the rules would then see them as late fixes
 * and derive nothing from them. So a consumer found with unacknowledged messages is recreated
 * to start just after its acknowledgement floor: everything not known to be committed is
 * delivered again, in stream order. Fixes already stored are skipped by the unique key and
 * by the rules' staleness check. This assumes one ingest process per consumer, and is done only
 * by that process as it starts (`rewind`): `fencewire migrate`, run beside a live processor,
 * must not pull its consumer from under it.
 */
export async function ensureIngestConsumer(
  jsm: JetStreamManager, t: Topology, settings: IngestConsumerSettings, options: { rewind: boolean },
): Promise<'created' | 'updated' | 'rewound'> {
  const wanted = { max_ack_pending: settings.maxInFlight, ack_wait: nanos(settings.ackWaitMs) };
  const create = (start: { deliver_policy: DeliverPolicy; opt_start_seq?: number }) =>
    jsm.consumers.add(t.telemetryStream, { ...wanted, ...start, durable_name: t.ingestConsumer, ack_policy: AckPolicy.Explicit });
  let info;
  try {
    info = await jsm.consumers.info(t.telemetryStream, t.ingestConsumer);
  } catch (err) {
    if (!isApiError(err, CONSUMER_NOT_FOUND)) throw err;
    await create({ deliver_policy: DeliverPolicy.All });
    return 'created';
  }
  if (options.rewind && info.num_ack_pending > 0) {
    await jsm.consumers.delete(t.telemetryStream, t.ingestConsumer);
    await create({ deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: info.ack_floor.stream_seq + 1 });
    return 'rewound';
  }
  await jsm.consumers.update(t.telemetryStream, t.ingestConsumer, wanted);
  return 'updated';
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
    if (!isApiError(err, CONSUMER_NOT_FOUND)) throw err;
    await jsm.consumers.add(t.eventsStream, {
      durable_name: t.webhookConsumer,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.New,
      max_ack_pending: WEBHOOK_MAX_ACK_PENDING,
      ack_wait: nanos(WEBHOOK_ACK_WAIT_MS),
    });
  }
}
