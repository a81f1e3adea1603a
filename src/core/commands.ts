/**
 * Commands: what the API sends down a device's telemetry subject, signed, so that it reaches
 * the partition's one owner in stream order and its events leave through the outbox like every
 * other event.
 */

/** A dispatcher's assignment of a driver (PUT /v1/devices/{id}/driver). */
export interface DriverAssignment {
  readonly tenantId: string;
  readonly deviceId: string;
  readonly driverId: string | null;
}

/** A dispatcher's tags for a device (PUT /v1/devices/{id}/tags): they replace the device's tags. */
export interface DeviceTagging {
  readonly tenantId: string;
  readonly deviceId: string;
  readonly tags: readonly string[];
}

/** A dispatcher's route for a device (PUT /v1/devices/{id}/route): a corridor's id, or null for none. */
export interface RouteAssignment {
  readonly tenantId: string;
  readonly deviceId: string;
  readonly routeId: string | null;
}

/** An inbound dvir.* event, kept in the audit log as `receiptId` (POST /api/integration/webhook). */
export interface InboundSubmission {
  readonly tenantId: string;
  readonly receiptId: string;
  /** When the audit log received it (epoch ms). */
  readonly receivedAt: number;
  readonly body: Readonly<Record<string, unknown>>;
}

/** The device a command that concerns no device is sent down: any token would do; this one says why. */
export const NO_DEVICE = '_no_device';
