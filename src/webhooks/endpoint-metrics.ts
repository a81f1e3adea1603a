import type { Metrics } from '../metrics.js';

/** The metrics labelled by webhook endpoint. */
function endpointMetrics(metrics: Metrics) {
  return [metrics.webhookAttempts, metrics.webhookAttemptFailures, metrics.webhookDeliveriesFailed, metrics.webhookLatency, metrics.webhookQueueDepth];
}

/**
 * Removes the series of endpoints that no longer exist, so that a tenant creating and deleting
 * endpoints cannot grow /metrics without bound. Returns the ids removed.
 */
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
