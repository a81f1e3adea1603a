import type { NatsConnection } from '@nats-io/transport-node';
import type { LiveSource } from '../core/live-source.js';
import type { Topology } from './topology.js';

/** The live stream's subscriptions as core NATS subscriptions (they see what JetStream stores). */
export function natsLiveSource(nc: NatsConnection, t: Topology): LiveSource {
  return {
    telemetryPrefix: t.telemetryPrefix,
    eventsPrefix: t.eventsPrefix,
    subscribe(subject, onMessage) {
      const sub = nc.subscribe(subject, {
        callback: (err, msg) => {
          if (err === null) onMessage({ subject: msg.subject, data: msg.data, header: (name) => msg.headers?.get(name) || undefined });
        },
      });
      return () => sub.unsubscribe();
    },
  };
}
