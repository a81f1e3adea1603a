import { randomBytes } from 'node:crypto';
import { pythonJson } from '../core/python-json.js';

/**
 * A `webhook.test` event (contract section 3) for one endpoint: an envelope like every other,
 * with no device, so that a receiver's parsing and signature check are exercised end to end.
 */
export function testEventEnvelope(tenantId: string, nowMs: number): { id: string; type: 'webhook.test'; body: string } {
  const id = `evt_${randomBytes(13).toString('hex')}`;
  // Tenant ids are ASCII tokens: the same bytes as JSON.stringify, written the way every envelope is.
  const body = pythonJson({
    id,
    type: 'webhook.test',
    tenant_id: tenantId,
    device_id: null,
    occurred_at: new Date(nowMs).toISOString(),
    data: { message: 'fencewire webhook test' },
  });
  return { id, type: 'webhook.test', body };
}
