import type { DerivedEvent } from '../core/event.js';
import type { RuleConfig } from '../core/rule-config.js';

/** What a backtest thread is given. */
export interface BacktestJob {
  readonly databaseUrl: string;
  readonly tenantId: string;
  /** The geofence's id in the events: a stored geofence's, or the draft's. */
  readonly geofenceId: string;
  readonly feature: unknown;
  readonly rules: RuleConfig;
  /** ISO times: [from, to). */
  readonly from: string;
  readonly to: string;
  readonly deviceIds: readonly string[] | null;
  readonly maxPositions: number;
}

/** An event as a backtest answers it: the envelope's fields but the tenant. */
export interface BacktestEvent {
  readonly id: string;
  readonly type: string;
  readonly device_id: string | null;
  readonly occurred_at: string;
  readonly data: Record<string, unknown>;
}

/** What the thread says, in order: refused, or started, events..., then done (or failed at any point). */
export type BacktestMessage =
  | { readonly kind: 'refused'; readonly code: 'invalid_request' | 'conflict'; readonly message: string }
  | { readonly kind: 'started'; readonly positions: number }
  | { readonly kind: 'events'; readonly events: BacktestEvent[] }
  | { readonly kind: 'done'; readonly fixes: number; readonly devices: number }
  | { readonly kind: 'failed'; readonly message: string };

export function backtestEvent(event: DerivedEvent): BacktestEvent {
  return { id: event.id, type: event.type, device_id: event.deviceId, occurred_at: new Date(event.occurredAt).toISOString(), data: event.data };
}
