import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { Logger } from 'pino';
import { connectNats, type NatsSettings } from './connection.js';
import { ensureStreams, ensureWebhookConsumer, type StreamSettings } from './streams.js';
import { telemetrySubject, topology } from './topology.js';

/** What the one-shot commands (migrate, simulate) need to reach fencewire's NATS. */
export interface OneShotBusSettings extends NatsSettings {
  readonly namespace: string;
  readonly streams: StreamSettings;
}

/** Publishes one telemetry message of a device; resolves once JetStream has stored it. */
export type TelemetryPublisher = (tenantId: string, deviceId: string, payload: Uint8Array) => Promise<unknown>;

/**
 * Creates the streams and the webhook consumer where missing (each ingest partition's consumer
 * is made by the processor that takes the partition). Resolves to the streams it created.
 */
export async function prepareStreams(settings: OneShotBusSettings, log: Logger): Promise<string[]> {
  const nc = await connectNats(settings, log, 'fencewire-migrate');
  try {
    const jsm = await jetstreamManager(nc);
    const t = topology(settings.namespace);
    const created = await ensureStreams(jsm, t, settings.streams);
    await ensureWebhookConsumer(jsm, t);
    return created;
  } finally {
    await nc.close();
  }
}

/** Runs `work` with a publisher of telemetry, then drains the connection. */
export async function withTelemetryPublisher<T>(settings: OneShotBusSettings, log: Logger, work: (publish: TelemetryPublisher) => Promise<T>): Promise<T> {
  const nc = await connectNats(settings, log, 'fencewire-simulate');
  try {
    const js = jetstream(nc);
    const t = topology(settings.namespace);
    return await work((tenantId, deviceId, payload) => js.publish(telemetrySubject(t, tenantId, deviceId), payload));
  } finally {
    await nc.drain();
  }
}
