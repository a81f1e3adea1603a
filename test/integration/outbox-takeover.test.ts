import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { derivedEvent } from '../../src/core/event.js';
import { jetStreamEventSink } from '../../src/bus/event-sink.js';
import { startServer } from '../../src/server.js';
import { PgBatchStore } from '../../src/store/batch-store.js';
import { PgPartitionStore } from '../../src/store/partition-store.js';
import { streamEventIds } from './ignition-fleet.js';
import { countUnpublished, setup, silentLog, waitFor, type TestEnv } from '../support/setup.js';

// The events stream drops a resend within its duplicate window, shortened here to 2 s.
const WINDOW_MS = 2000;
let world: TestEnv;

beforeAll(async () => {
  world = await setup({ EVENTS_DUPLICATE_WINDOW_MS: String(WINDOW_MS) });
});

afterAll(() => world?.dispose());

describe('outbox - exactly once on EVENTS, however late the takeover', () => {
  it('a partition taken over after the duplicate window does not publish again what its dead owner published but had not recorded', async () => {
    // The previous owner committed six events, published four of them and died before it wrote
    // its publish watermark.
    const claim = await new PgPartitionStore(world.db).claim(1, 0, 'the-dead-owner');
    const events = Array.from({ length: 6 }, (_, i) => derivedEvent('acme', 'veh-1', i % 2 ? 'ignition.on' : 'ignition.off', Date.now() - 60_000 + i * 1000, { lat: 1, lon: 2 }));
    await new PgBatchStore(world.db).writeBatches([{ hold: claim, lastSeq: 3, publishedSeq: 0, fixes: [], events }]);
    const sink = jetStreamEventSink(world.js, world.topology);
    for (const event of events.slice(0, 4)) await sink(event);
    expect(await countUnpublished(world.db)).toBe(6);
    await new Promise((resolve) => setTimeout(resolve, WINDOW_MS + 1000));

    const server = await startServer(world.config, silentLog, ['ingest']);
    try {
      await waitFor('the new owner published what was left', async () => (await countUnpublished(world.db)) === 0, 20_000);
    } finally {
      await server.stop();
    }
    const onStream = (await streamEventIds(world, 'acme')).get('veh-1') ?? [];
    expect(onStream.sort()).toEqual(events.map((e) => e.id).sort());
  });
});
