import type { Metrics } from '../metrics.js';

/** The metrics labelled by webhook endpoint. */
function endpointMetrics(metrics: Metrics) {
  return [metrics.webhookAttempts, metrics.webhookAttemptFailures, metrics.webhookDeliveriesFailed, metrics.webhookLatency, metrics.webhookQueueDepth, metrics.webhookQueueAge];
}

/**
 * Removes the series of endpoints that no longer exist, so that a tenant creating and deleting
 * endpoints cannot grow /metrics without bound. Returns the ids removed.
 */
/** The age of each endpoint's oldest pending delivery; 0 for existing endpoints with none. */
export function setQueueAges(metrics: Metrics, existing: ReadonlySet<string>, ages: ReadonlyMap<string, number>): void {
  for (const endpoint of existing) metrics.webhookQueueAge.set({ endpoint }, ages.get(endpoint) ?? 0);
}

export async function pruneEndpointSeries(metrics: Metrics, existing: ReadonlySet<string>): Promise<string[]> {
  const removed = new Set<string>();
  for (const metric of endpointMetrics(metrics)) {
    for (const value of (await metric.get()).values) {
      const endpoint = value.labels.endpoint;
      if (typeof endpoint === 'string' && !existing.has(endpoint)) removed.add(endpoint);
    }
  }
  for (const endpoint of removed) for (const metric of endpointMetrics(metrics)) metric.remove({ endpoint });
  return [...removed];
}
