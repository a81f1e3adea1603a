import type { Consumer, ConsumerMessages, JetStreamClient, JetStreamManager, JsMsg } from '@nats-io/jetstream';
import type { Logger } from 'pino';
import { COMMAND_HEADER, COMMAND_SIGNATURE_HEADER, type Encoding, type RejectedReport } from '../decode/message.js';
import type { TelemetryMessage } from '../decode/telemetry-message.js';
import { publishDeadLetter } from './dead-letter.js';
import { partitionInFlight, startPartitionConsumer, type IngestConsumerSettings } from './streams.js';
import { dlqSubject, type Topology } from './topology.js';

export interface PartitionConsumerDeps {
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly topology: Topology;
  readonly settings: IngestConsumerSettings;
  /** The NATS server's max_payload: a dead letter must fit in it. */
  readonly maxPayload: number;
  readonly log: Logger;
}

/** A JetStream message as the pipeline sees it (a class: no closures made per message). */
class JetStreamTelemetry implements TelemetryMessage {
  readonly seq: number;
  readonly storedAt: number;

  constructor(private readonly msg: JsMsg, private readonly deps: PartitionConsumerDeps) {
    const info = msg.info;
    this.seq = info.streamSequence;
    this.storedAt = Math.floor(info.timestampNanos / 1_000_000);
  }

  get subject(): string {
    return this.msg.subject;
  }

  get data(): Uint8Array {
    return this.msg.data;
  }

  get contentType(): string | undefined {
    return this.msg.headers?.get('Content-Type') || undefined;
  }

  get command(): { name: string; signature: string | undefined } | undefined {
    const name = this.msg.headers?.get(COMMAND_HEADER);
    return name ? { name, signature: this.msg.headers?.get(COMMAND_SIGNATURE_HEADER) || undefined } : undefined;
  }

  ack(): void {
    this.msg.ack();
  }

  working(): void {
    this.msg.working();
  }

  deadLetter(tenantId: string | null, refused: RejectedReport, encoding: Encoding): Promise<void> {
    // The id makes the dead letter of a replayed message a duplicate that JetStream drops.
    const { js, topology, maxPayload } = this.deps;
    return publishDeadLetter(js, dlqSubject(topology, tenantId), this.msg, refused, encoding, maxPayload, `${this.seq}-${refused.index ?? 'all'}`);
  }
}

/**
 * The JetStream side of one partition: its durable consumer, recreated to start at `startSeq`,
 * feeding the partition's pipeline message by message, in stream order.
 */
export class PartitionConsumer {
  /** Set once its message loop has ended: it delivers nothing more. */
  private ended = false;

  private constructor(private readonly consumer: Consumer, private readonly messages: ConsumerMessages, private readonly loop: Promise<void>) {
    void loop.finally(() => (this.ended = true));
  }

  /** True once the consumer delivers nothing more (closed, or deleted under it). */
  get closed(): boolean {
    return this.ended;
  }

  static async start(deps: PartitionConsumerDeps, partition: number, partitions: number, startSeq: number, epoch: number, pipeline: { accept(msg: TelemetryMessage): void }): Promise<PartitionConsumer> {
    const { js, jsm, topology, settings, log } = deps;
    const name = await startPartitionConsumer(jsm, topology, partition, partitions, settings, startSeq, epoch);
    const consumer = await js.consumers.get(topology.telemetryStream, name);
    // Deleted under us means a new owner took the partition: stop rather than wait for it to
    // return. The callback form hands messages over as they are parsed, with no promise each.
    const messages = await consumer.consume({
      max_messages: Math.min(1000, partitionInFlight(settings.maxInFlight, partitions)),
      abort_on_missing_resource: true,
      callback: (msg) => pipeline.accept(new JetStreamTelemetry(msg, deps)),
    });
    const loop = messages.closed().then(
      (err) => err && log.warn({ err: err.message, partition }, 'partition consumer stopped with an error'),
      (err: Error) => log.warn({ err: err.message, partition }, 'partition consumer stopped with an error'),
    ).then(() => undefined);
    return new PartitionConsumer(consumer, messages, loop);
  }

  /** Messages not yet delivered to this partition's consumer. */
  async pending(): Promise<number> {
    return (await this.consumer.info(false)).num_pending;
  }

  /** Stops pulling; resolves once the consumer has closed. */
  async stop(): Promise<void> {
    await this.messages.close().catch(() => undefined);
    await this.loop;
  }
}
