/**
 * Percentiles of a Prometheus histogram read from a processor's /metrics: for each label value,
 * the upper bound of the bucket the percentile falls in (what Prometheus's histogram_quantile
 * would interpolate within), for the per-stage latency of `fencewire_stage_seconds`.
 */
export function histogramPercentiles(metricsText: string, name: string, label: string, percentiles: readonly number[]): Map<string, number[]> {
  const buckets = new Map<string, { le: number; count: number }[]>();
  const pattern = new RegExp(`^${name}_bucket\\{(?:[^}]*,)?${label}="([^"]+)"(?:,[^}]*)?,?le="([^"]+)"[^}]*\\} (\\d+)`, 'gm');
  for (const match of metricsText.matchAll(pattern)) {
    const list = buckets.get(match[1] as string) ?? [];
    list.push({ le: match[2] === '+Inf' ? Infinity : Number(match[2]), count: Number(match[3]) });
    buckets.set(match[1] as string, list);
  }
  const result = new Map<string, number[]>();
  for (const [value, list] of buckets) {
    list.sort((a, b) => a.le - b.le);
    const total = list.at(-1)?.count ?? 0;
    result.set(value, percentiles.map((p) => list.find((b) => b.count >= (total * p) / 100)?.le ?? Infinity));
  }
  return result;
}
