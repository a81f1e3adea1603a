import { pack } from 'msgpackr';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { DeviceStateRow } from '../../../src/core/device-state.js';
import type { DerivedEvent } from '../../../src/core/event.js';
import type { Fix } from '../../../src/core/fix.js';
import { GeofenceIndex } from '../../../src/core/geometry/geofence-index.js';
import { DEFAULT_RULES } from '../../../src/core/rule-config.js';
import { FencedError, UnstorableError } from '../../../src/errors.js';
import type { RejectedReport } from '../../../src/decode/message.js';
import { PartitionPublisher } from '../../../src/events/event-publisher.js';
import { createMetrics } from '../../../src/metrics.js';
import type { BatchWriter } from '../../../src/pipeline/group-commit.js';
import type { TelemetryMessage } from '../../../src/decode/telemetry-message.js';
import { PartitionPipeline } from '../../../src/pipeline/partition-pipeline.js';
import { RuleEngine } from '../../../src/pipeline/rule-engine.js';
import type { PartitionBatch, PartitionClaim } from '../../../src/core/ingest-ports.js';

const log = pino({ level: 'silent' });
const T0 = Date.parse('2026-11-22T08:00:00Z');
const index = new GeofenceIndex([]);

/** A message of device veh-1 whose ignition is `on`, at stream sequence `seq`. */
function message(seq: number, on: boolean, acked: number[]): TelemetryMessage {
  return {
    seq, subject: 'telemetry.acme.veh-1', data: pack({ ts: T0 + seq * 1000, lat: 48, lon: 11, ignition: on }), contentType: undefined, command: undefined, storedAt: T0 + seq * 1000,
    ack: () => void acked.push(seq), working: () => undefined, deadLetter: async () => undefined,
  };
}

/** A report PostgreSQL would refuse, for the doubles below: its attributes say so. */
const isPoison = (fix: Fix) => fix.attributes?.poison === true;

/** A writer that records batches and answers at once, or fences, or refuses a poisoned batch. */
class MemoryWriter implements BatchWriter {
  readonly batches: PartitionBatch[] = [];
  fenced = false;
  refusals = 0;
  async write(batch: PartitionBatch): Promise<DerivedEvent[]> {
    if (this.fenced) throw new FencedError(batch.hold.partition, batch.hold.epoch);
    if (batch.fixes.some(isPoison)) {
      this.refusals++;
      throw new UnstorableError('PostgreSQL refused the data (SQLSTATE 22P05)');
    }
    this.batches.push(batch);
    return [...batch.events];
  }
}

/** The probe of the store's double: every poisoned fix, or (`firstOnly`) the first of them, as a probe that found one at a time would. */
function probe(firstOnly: boolean) {
  return async (fixes: readonly Fix[]) => {
    const found = fixes.flatMap((fix, index) => (isPoison(fix) ? [{ index, reason: 'unsupported Unicode escape sequence' }] : []));
    return { fixes: firstOnly ? found.slice(0, 1) : found, events: [] };
  };
}

function pipeline(claim: Partial<PartitionClaim>, writer: BatchWriter, states: DeviceStateRow[] = [], probeFirstOnly = false) {
  const published: string[] = [];
  const checkpoints: { seq: number; states: number }[] = [];
  let lost: string | null = null;
  const claimed: PartitionClaim = { lane: 1, partition: 0, partitions: 1, epoch: 1, committedSeq: 0, publishedSeq: 0, checkpointSeq: 0, ...claim };
  const metrics = createMetrics();
  const p = new PartitionPipeline({
    claim: claimed, layout: { prefix: 'telemetry.', partitions: 1 }, commandKey: 'test-command-key',
    engine: new RuleEngine({ forTenant: () => ({ index, rules: DEFAULT_RULES }), rulesFor: () => DEFAULT_RULES }, states),
    writer,
    store: {
      checkpoint: async (_hold, seq, rows) => {
        checkpoints.push({ seq, states: rows.length });
        return true;
      },
      refreshDevices: async () => undefined,
      unstorable: probe(probeFirstOnly),
    },
    announce: () => undefined,
    publisher: new PartitionPublisher(async (e) => void published.push(e.type), claimed.publishedSeq, log, metrics),
    metrics, log, settings: { batchSize: 2000, checkpointMs: 60_000 },
    held: () => true,
    onLost: (why) => void (lost = why),
  });
  return { p, published, checkpoints, metrics, lost: () => lost };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 10));

describe('partition pipeline - replay, group commit, fencing', () => {
  it('commits what arrives during a commit as the next batch, acknowledges each batch by its last message, and publishes the new events', async () => {
    const writer = new MemoryWriter();
    const acked: number[] = [];
    const { p, published } = pipeline({}, writer);
    p.accept(message(1, true, acked));
    p.accept(message(2, true, acked));
    p.accept(message(3, false, acked));
    await settle();
    // The first message went out alone; the two that came while it was written, together.
    expect(writer.batches.map((b) => [b.lastSeq, b.fixes.length])).toEqual([[1, 1], [3, 2]]);
    expect(acked).toEqual([1, 3]);
    expect(published).toEqual(['ignition.off']);
  });

  it('replays messages up to the committed sequence into the state only: nothing written, nothing published, events after it as one run', async () => {
    const writer = new MemoryWriter();
    const acked: number[] = [];
    const { p, published } = pipeline({ committedSeq: 2, checkpointSeq: 0 }, writer);
    p.accept(message(1, true, acked));
    p.accept(message(2, false, acked));
    p.accept(message(3, true, acked));
    await settle();
    expect(writer.batches.map((b) => b.fixes.map((f) => f.ts))).toEqual([[T0 + 3000]]);
    // ignition.off of seq 2 was derived (and committed) before: only seq 3's event is new.
    expect(published).toEqual(['ignition.on']);
    expect(acked).toEqual([2, 3]);
  });

  it('a fenced commit drops the partition: nothing acknowledged, nothing published, the owner told', async () => {
    const writer = new MemoryWriter();
    writer.fenced = true;
    const acked: number[] = [];
    const { p, published, lost } = pipeline({}, writer);
    p.accept(message(1, true, acked));
    p.accept(message(2, false, acked));
    await settle();
    expect(lost()).toMatch(/no longer held at epoch 1/);
    expect(p.isLost).toBe(true);
    expect(acked).toEqual([]);
    expect(published).toEqual([]);
    p.accept(message(3, true, acked));
    expect(acked).toEqual([]);
  });

  it('hands over with a checkpoint of every changed device as of its last committed message', async () => {
    const writer = new MemoryWriter();
    const acked: number[] = [];
    const { p, checkpoints } = pipeline({}, writer);
    p.accept(message(1, true, acked));
    p.accept(message(2, false, acked));
    expect(await p.finish()).toBe(true);
    expect(checkpoints).toEqual([{ seq: 2, states: 1 }]);
    expect(writer.batches.at(-1)?.lastSeq).toBe(2);
  });
});

describe('partition pipeline - a batch PostgreSQL refuses', () => {
  it('dead-letters the refused report as unstorable, commits the rest of its message and batch, and acknowledges all', async () => {
    const writer = new MemoryWriter();
    const acked: number[] = [];
    const deadLetters: RejectedReport[] = [];
    const { p } = pipeline({}, writer);
    const reports = [0, 1, 2].map((i) => ({ ts: T0 + i * 1000, lat: 48, lon: 11, ignition: true, attributes: { poison: i === 1 } }));
    p.accept({ ...message(1, true, acked), data: pack(reports), deadLetter: async (_tenant, refused) => void deadLetters.push(refused) });
    p.accept(message(5, true, acked));
    await settle();
    expect(writer.refusals).toBe(1);
    expect(writer.batches.flatMap((b) => b.fixes.map((f) => f.ts))).toEqual([T0, T0 + 2000, T0 + 5000]);
    expect(deadLetters).toEqual([{ index: 1, rejection: { code: 'unstorable', message: expect.stringMatching(/refused to store this report: unsupported Unicode/) }, report: reports[1] }]);
    expect(acked).toEqual([1, 5]);
  });

  it('drops and counts a dead letter NATS refuses for what it is, and acknowledges the batch', async () => {
    const writer = new MemoryWriter();
    const acked: number[] = [];
    const { p, metrics } = pipeline({}, writer);
    p.accept({ ...message(1, true, acked), data: pack({ ts: T0, lat: 91, lon: 11 }), deadLetter: async () => Promise.reject(new UnstorableError('NATS refuses the dead letter: max_payload size exceeded')) });
    p.accept(message(2, true, acked));
    await settle();
    expect(acked).toEqual([1, 2]);
    expect(await metrics.registry.getSingleMetricAsString('fencewire_unstorable_total')).toMatch(/kind="dead_letter"} 1/);
  });

  it('dead-letters the right reports when the refused rows are found over several passes', async () => {
    const writer = new MemoryWriter();
    const acked: number[] = [];
    const deadLetters: RejectedReport[] = [];
    const { p } = pipeline({}, writer, [], true);
    const reports = [0, 1, 2, 3, 4].map((i) => ({ ts: T0 + i * 1000, lat: 48, lon: 11, ignition: true, attributes: { poison: i === 1 || i === 3 } }));
    p.accept({ ...message(1, true, acked), data: pack(reports), deadLetter: async (_tenant, refused) => void deadLetters.push(refused) });
    await settle();
    expect(writer.refusals).toBe(2);
    expect(writer.batches.flatMap((b) => b.fixes.map((f) => f.ts))).toEqual([T0, T0 + 2000, T0 + 4000]);
    expect(deadLetters.map((d) => d.index)).toEqual([1, 3]);
    expect(acked).toEqual([1]);
  });

  it('refuses a single-report message whole', async () => {
    const writer = new MemoryWriter();
    const acked: number[] = [];
    const deadLetters: RejectedReport[] = [];
    const { p } = pipeline({}, writer);
    p.accept({ ...message(1, true, acked), data: pack({ ts: T0, lat: 48, lon: 11, attributes: { poison: true } }), deadLetter: async (_tenant, refused) => void deadLetters.push(refused) });
    await settle();
    expect(deadLetters.map((d) => [d.index, d.rejection.code])).toEqual([[null, 'unstorable']]);
    expect(acked).toEqual([1]);
  });
});

describe('partition publisher - an event NATS can never take', () => {
  it('is left out, counted, and the events after it are published and the watermark moves', async () => {
    const published: string[] = [];
    const metrics = createMetrics();
    const event = (id: string) => ({ id, type: 'dvir.submitted', tenantId: 'acme', deviceId: null, occurredAt: T0, data: {} }) as unknown as DerivedEvent;
    const publisher = new PartitionPublisher(async (e) => {
      if (e.id === 'huge') throw new UnstorableError('NATS refuses the event: max_payload size exceeded');
      published.push(e.id);
    }, 0, log, metrics);
    publisher.enqueue(1, [event('a'), event('huge')]);
    publisher.enqueue(2, [event('b')]);
    await publisher.idle();
    expect(published).toEqual(['a', 'b']);
    expect(publisher.published).toBe(2);
    expect(await metrics.registry.getSingleMetricAsString('fencewire_unstorable_total')).toMatch(/kind="event"} 1/);
  });
});
