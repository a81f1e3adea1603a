import { derivedEvent, type DerivedEvent } from '../event.js';
import type { Fix } from '../fix.js';

/**
 * positions.batch: one summary per tenant of a committed batch (`count` fixes of `device_ids`,
 * in order of first appearance), for tenants that opted in. A tenant's event, not a device's; it
 * occurs at the batch's newest fix time. A batch is committed once (its partition's epoch fences
 * it), so the partition and the batch's last stream sequence name it for the id.
 */
export function batchSummaries(fixes: readonly Fix[], wanted: (tenantId: string) => boolean, partition: number, lastSeq: number): DerivedEvent[] {
  const byTenant = new Map<string, { count: number; devices: Set<string>; newest: number }>();
  for (const fix of fixes) {
    let summary = byTenant.get(fix.tenantId);
    if (summary === undefined) {
      if (!wanted(fix.tenantId)) continue;
      summary = { count: 0, devices: new Set(), newest: fix.ts };
      byTenant.set(fix.tenantId, summary);
    }
    summary.count++;
    summary.devices.add(fix.deviceId);
    summary.newest = Math.max(summary.newest, fix.ts);
  }
  return [...byTenant].map(([tenantId, s]) =>
    derivedEvent(tenantId, null, 'positions.batch', s.newest, { count: s.count, device_ids: [...s.devices] }, `${partition}:${lastSeq}`));
}
