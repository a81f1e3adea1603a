import { pack } from 'msgpackr';
import { INITIAL_STATE, type DeviceState } from '../../src/core/device-state.js';
import type { Fix } from '../../src/core/fix.js';
import { GeofenceIndex } from '../../src/core/geometry/geofence-index.js';
import { processFix } from '../../src/core/process-fix.js';
import { DEFAULT_RULES } from '../../src/core/rule-config.js';
import type { TestEnv } from '../support/setup.js';

/** One device's report, as published. */
export interface FleetReport {
  readonly device: string;
  readonly report: { ts: number; lat: number; lon: number; speed: number; ignition: boolean };
}

/**
 * A fleet whose ignition toggles every 10 fixes while it drives north at 40 km/h, one fix a
 * second per device, reports interleaved round-robin as devices would send them. Every toggle is
 * an ignition event and every ignition off ends a trip, so the events say at once whether each
 * device's fixes went through one state machine in order.
 */
export function ignitionFleet(devices: number, fixesPerDevice: number, base: number): FleetReport[] {
  const reports: FleetReport[] = [];
  for (let i = 0; i < fixesPerDevice; i++) {
    for (let d = 0; d < devices; d++) {
      reports.push({ device: `veh-${d}`, report: { ts: base + i * 1000, lat: 48 + d * 0.01 + i * 1e-4, lon: 11, speed: 40, ignition: Math.floor(i / 10) % 2 === 0 } });
    }
  }
  return reports;
}

/** The event ids of each device, in order, as one uninterrupted processor derives them: the pure core. */
export function expectedEventIds(tenant: string, reports: readonly FleetReport[]): Map<string, string[]> {
  const index = new GeofenceIndex([]);
  const states = new Map<string, DeviceState>();
  const ids = new Map<string, string[]>();
  for (const { device, report } of reports) {
    const fix: Fix = { tenantId: tenant, deviceId: device, ...report, heading: null, altitude: null, accuracy: null, satellites: null, odometer: null, attributes: null };
    const result = processFix(states.get(device) ?? INITIAL_STATE, fix, { index, rules: DEFAULT_RULES, receivedAt: report.ts });
    states.set(device, result.state);
    ids.set(device, [...(ids.get(device) ?? []), ...result.events.map((e) => e.id)]);
  }
  return ids;
}

/** Publishes the reports at about `perSecond` messages a second. */
export async function publishFleet(world: TestEnv, tenant: string, reports: readonly FleetReport[], perSecond: number): Promise<void> {
  const started = Date.now();
  for (let i = 0; i < reports.length; i++) {
    const { device, report } = reports[i] as FleetReport;
    await world.publish(tenant, device, pack(report));
    const ahead = (i * 1000) / perSecond - (Date.now() - started);
    if (ahead > 5) await new Promise((resolve) => setTimeout(resolve, ahead));
  }
}

/** The stored event ids of each device of a tenant, in commit order. */
export async function storedEventIds(world: TestEnv, tenant: string): Promise<Map<string, string[]>> {
  const { rows } = await world.db.query<{ device_id: string; id: string }>('SELECT device_id, id FROM events WHERE tenant_id = $1 ORDER BY seq', [tenant]);
  const ids = new Map<string, string[]>();
  for (const row of rows) ids.set(row.device_id, [...(ids.get(row.device_id) ?? []), row.id]);
  return ids;
}

/** Every envelope of a tenant on the EVENTS stream, in stream order. */
export async function streamEnvelopes(world: TestEnv, tenant: string): Promise<EventEnvelope[]> {
  const envelopes: EventEnvelope[] = [];
  const consumer = await world.js.consumers.get(world.topology.eventsStream, { filter_subjects: `${world.topology.eventsPrefix}${tenant}.>` });
  for (;;) {
    let got = 0;
    for await (const msg of await consumer.fetch({ max_messages: 1000, expires: 1000 })) {
      envelopes.push(msg.json<EventEnvelope>());
      got++;
    }
    if (got === 0) return envelopes;
  }
}

export interface EventEnvelope {
  readonly id: string;
  readonly type: string;
  readonly tenant_id: string;
  readonly device_id: string | null;
  readonly occurred_at: string;
  readonly data: Record<string, unknown>;
}

/** The event ids of each device of a tenant on the EVENTS stream, in stream order. */
export async function streamEventIds(world: TestEnv, tenant: string): Promise<Map<string, string[]>> {
  const ids = new Map<string, string[]>();
  for (const body of await streamEnvelopes(world, tenant)) {
    const device = body.device_id ?? '';
    ids.set(device, [...(ids.get(device) ?? []), body.id]);
  }
  return ids;
}

/** Map to a plain object sorted by key, for readable equality failures. */
export function sorted(ids: Map<string, string[]>): Record<string, string[]> {
  return Object.fromEntries([...ids.entries()].sort(([a], [b]) => (a < b ? -1 : 1)));
}
