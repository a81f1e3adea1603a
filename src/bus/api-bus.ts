import type { JetStreamClient } from '@nats-io/jetstream';
import { headers as natsHeaders } from '@nats-io/transport-node';
import type { DerivedEvent } from '../core/event.js';
import { signCommand } from '../core/command-signature.js';
import { ASSIGN_DRIVER, COMMAND_HEADER, COMMAND_SIGNATURE_HEADER } from '../decode/message.js';
import { jetStreamEventSink } from './event-sink.js';
import { telemetrySubject, type Topology } from './topology.js';

const encoder = new TextEncoder();

/** What the HTTP API puts on the bus; each resolves once JetStream has stored it. */
export interface ApiBus {
  /**
   * A dispatcher's driver assignment, sent down the device's own telemetry subject: it reaches
   * the device's state in stream order, through the partition's one owner, like a report.
   */
  assignDriver(tenantId: string, deviceId: string, driverId: string | null): Promise<void>;
  /** An event the API derives itself (dvir.submitted), already in the events table. */
  publishEvent(event: DerivedEvent): Promise<void>;
}

/** `commandKey` signs the commands, so that the processors can tell them from a device's forgery. */
export function jetStreamApiBus(js: JetStreamClient, t: Topology, commandKey: string): ApiBus {
  const sink = jetStreamEventSink(js, t);
  return {
    async assignDriver(tenantId, deviceId, driverId) {
      const payload = encoder.encode(JSON.stringify({ driver_id: driverId }));
      const h = natsHeaders();
      h.set(COMMAND_HEADER, ASSIGN_DRIVER);
      h.set(COMMAND_SIGNATURE_HEADER, signCommand(commandKey, tenantId, deviceId, ASSIGN_DRIVER, payload));
      h.set('Content-Type', 'application/json');
      await js.publish(telemetrySubject(t, tenantId, deviceId), payload, { headers: h });
    },
    async publishEvent(event) {
      await sink(event);
    },
  };
}
