/**
 * Percentiles of a Prometheus histogram read from a processor's /metrics: for each value of
 * `label`, the upper bound of the bucket the percentile falls in (what Prometheus's
 * histogram_quantile would interpolate within), for the per-stage latency of `fencewire_stage_seconds`.
 */
export function histogramPercentiles(metricsText: string, name: string, label: string, percentiles: readonly number[]): Map<string, number[]> {
  const buckets = new Map<string, { le: number; count: number }[]>();
  for (const match of metricsText.matchAll(new RegExp(`^${name}_bucket\\{([^}]*)\\} (\\d+)`, 'gm'))) {
    const labels = Object.fromEntries([...(match[1] as string).matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    const value = labels[label];
    if (value === undefined || labels.le === undefined) continue;
    const list = buckets.get(value) ?? [];
    list.push({ le: labels.le === '+Inf' ? Infinity : Number(labels.le), count: Number(match[2]) });
    buckets.set(value, list);
  }
  const result = new Map<string, number[]>();
  for (const [value, list] of buckets) {
    list.sort((a, b) => a.le - b.le);
    const total = list.at(-1)?.count ?? 0;
    result.set(value, percentiles.map((p) => list.find((b) => b.count >= (total * p) / 100)?.le ?? Infinity));
  }
  return result;
}
