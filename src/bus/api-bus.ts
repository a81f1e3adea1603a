import type { JetStreamClient } from '@nats-io/jetstream';
import { headers as natsHeaders } from '@nats-io/transport-node';
import type { InboundSubmission } from '../core/commands.js';
import { signCommand } from '../core/command-signature.js';
import { ASSIGN_DRIVER, ASSIGN_ROUTE, COMMAND_HEADER, COMMAND_SIGNATURE_HEADER, INBOUND_DVIR, SET_TAGS } from '../decode/message.js';
import { telemetrySubject, type Topology } from './topology.js';

const encoder = new TextEncoder();

/**
 * What the HTTP API puts on the bus: commands, sent down a device's own telemetry subject so
 * that they reach the device's partition in stream order, through its one owner, like a report,
 * and the events they cause leave through the outbox. Each resolves once JetStream has stored it.
 */
export interface ApiBus {
  /** A dispatcher's driver assignment. */
  assignDriver(tenantId: string, deviceId: string, driverId: string | null): Promise<void>;
  /** A dispatcher's tags for a device (they replace its tags). */
  setTags(tenantId: string, deviceId: string, tags: readonly string[]): Promise<void>;
  /** A dispatcher's route for a device: a corridor's id, or null for none. */
  assignRoute(tenantId: string, deviceId: string, routeId: string | null): Promise<void>;
  /** An inbound dvir.* event kept in the audit log, down `deviceId`'s subject (the device it names, or any). */
  submitInbound(submission: InboundSubmission, deviceId: string): Promise<void>;
}

/** `commandKey` signs the commands, so that the processors can tell them from a device's forgery. */
export function jetStreamApiBus(js: JetStreamClient, t: Topology, commandKey: string): ApiBus {
  const send = async (tenantId: string, deviceId: string, command: string, body: unknown) => {
    const payload = encoder.encode(JSON.stringify(body));
    const h = natsHeaders();
    h.set(COMMAND_HEADER, command);
    h.set(COMMAND_SIGNATURE_HEADER, signCommand(commandKey, tenantId, deviceId, command, payload));
    h.set('Content-Type', 'application/json');
    await js.publish(telemetrySubject(t, tenantId, deviceId), payload, { headers: h });
  };
  return {
    assignDriver: (tenantId, deviceId, driverId) => send(tenantId, deviceId, ASSIGN_DRIVER, { driver_id: driverId }),
    setTags: (tenantId, deviceId, tags) => send(tenantId, deviceId, SET_TAGS, { tags }),
    assignRoute: (tenantId, deviceId, routeId) => send(tenantId, deviceId, ASSIGN_ROUTE, { route_id: routeId }),
    submitInbound: ({ tenantId, receiptId, receivedAt, body }, deviceId) =>
      send(tenantId, deviceId, INBOUND_DVIR, { receipt_id: receiptId, received_at: receivedAt, body }),
  };
}
