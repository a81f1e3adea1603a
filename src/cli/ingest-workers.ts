import { fork, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { Counter, Registry, type MetricObjectWithValues, type MetricValue } from 'prom-client';

/** The IPC messages between `serve` and its ingest workers. */
type MetricsRequest = { readonly type: 'metrics'; readonly id: number };
type MetricsAnswer = { readonly type: 'metrics'; readonly id: number; readonly metrics: MetricObjectWithValues<MetricValue<string>>[] };

/** Set in a worker's environment: it is one of `serve`'s ingest workers. */
export const WORKER_ENV = 'FENCEWIRE_INGEST_WORKER';

const METRICS_TIMEOUT_MS = 2000;
/** Workers' metrics are asked for at most this often; /metrics in between answers the last ones. */
const METRICS_FRESH_MS = 1000;
/** A worker that ran this long before it died is restarted at once: its next failure is a new story. */
const HEALTHY_RUN_MS = 60_000;

/**
 * How long to wait before starting a worker again after its `failures`-th death in a row: from
 * 1 s, doubling to 60 s, so that a worker that cannot start (a bad configuration, the database
 * refusing it) is not restarted every second forever.
 */
export function restartDelayMs(failures: number): number {
  return Math.min(60_000, 1000 * 2 ** Math.max(0, failures - 1));
}

/**
 * `serve --workers N`: N ingest processes, each an ordinary processor that leases its share of
 * the partitions, so that ingest uses every core. Each is `fencewire serve --role ingest` run
 * as a child (same Node.js flags), restarted when it dies (with back-off, counted in
 * `fencewire_ingest_worker_restarts_total`); SIGTERM is passed on and waited for. Their metrics
 * reach the parent's /metrics over IPC, asked for at most once a second however often it is read.
 */
export class IngestWorkers {
  private readonly children = new Set<ChildProcess>();
  private stopping = false;
  private nextRequest = 0;
  /** Deaths in a row of each worker, for the back-off. */
  private readonly failures = new Map<number, number>();
  private readonly registry = new Registry();
  private readonly restarts = new Counter({
    name: 'fencewire_ingest_worker_restarts_total', help: 'Ingest workers that died and were started again, by worker', labelNames: ['worker'] as const, registers: [this.registry],
  });
  private lastMetrics: { at: number; metrics: Promise<MetricObjectWithValues<MetricValue<string>>[][]> } | null = null;

  private constructor(private readonly count: number, private readonly log: Logger) {}

  static start(count: number, log: Logger): IngestWorkers {
    const workers = new IngestWorkers(count, log);
    for (let i = 0; i < count; i++) workers.spawn(i);
    log.info({ workers: count }, 'ingest workers started');
    return workers;
  }

  private spawn(index: number): void {
    const script = process.argv[1] as string;
    const child = fork(script, ['serve', '--role', 'ingest', '--workers', '1'], { execArgv: process.execArgv, env: { ...process.env, [WORKER_ENV]: String(index) } });
    this.children.add(child);
    const startedAt = Date.now();
    child.once('exit', (code, signal) => {
      this.children.delete(child);
      if (this.stopping) return;
      const failures = Date.now() - startedAt >= HEALTHY_RUN_MS ? 1 : (this.failures.get(index) ?? 0) + 1;
      this.failures.set(index, failures);
      const delayMs = restartDelayMs(failures);
      this.restarts.inc({ worker: String(index) });
      this.log.error({ worker: index, code, signal, failuresInARow: failures, restartInMs: delayMs }, 'ingest worker died; starting another');
      void sleep(delayMs).then(() => this.stopping || this.spawn(index));
    });
  }

  /** Every worker's metrics and the restarts', for aggregation with the parent's own. */
  metrics(): Promise<MetricObjectWithValues<MetricValue<string>>[][]> {
    const now = Date.now();
    if (this.lastMetrics === null || now - this.lastMetrics.at >= METRICS_FRESH_MS) {
      const asked = Promise.all([...this.children].map((child) => this.ask(child)));
      this.lastMetrics = { at: now, metrics: Promise.all([asked, this.registry.getMetricsAsJSON()]).then(([workers, own]) => [...workers.filter((m) => m !== null), own]) };
    }
    return this.lastMetrics.metrics;
  }

  private ask(child: ChildProcess): Promise<MetricObjectWithValues<MetricValue<string>>[] | null> {
    const id = this.nextRequest++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => done(null), METRICS_TIMEOUT_MS);
      const onMessage = (message: MetricsAnswer) => {
        if (message?.type === 'metrics' && message.id === id) done(message.metrics);
      };
      const done = (value: MetricObjectWithValues<MetricValue<string>>[] | null) => {
        clearTimeout(timer);
        child.off('message', onMessage);
        resolve(value);
      };
      child.on('message', onMessage);
      if (!child.send({ type: 'metrics', id } satisfies MetricsRequest)) done(null);
    });
  }

  /** SIGTERM to every worker; resolves true when all exited 0 (each committed what it held). */
  async stop(): Promise<boolean> {
    this.stopping = true;
    const exits = [...this.children].map((child) => new Promise<boolean>((resolve) => {
      child.once('exit', (code) => resolve(code === 0));
      child.kill('SIGTERM');
    }));
    return (await Promise.all(exits)).every(Boolean) && exits.length === this.count;
  }
}

/**
 * In a worker, first thing: stop (SIGTERM to itself, so the usual clean shutdown runs) when the
 * parent is gone, killed or not, rather than live on as an orphan holding partitions.
 */
export function leaveWithParent(): void {
  const leave = () => process.kill(process.pid, 'SIGTERM');
  if (!process.connected) leave();
  else process.once('disconnect', leave);
  // The channel must not keep a worker alive once its shutdown is done.
  process.channel?.unref();
}

/** In a started worker: answers the parent's metrics requests. */
export function answerMetrics(registry: Pick<Registry, 'getMetricsAsJSON'>): void {
  process.on('message', (message: MetricsRequest) => {
    if (message?.type !== 'metrics') return;
    void registry.getMetricsAsJSON().then((metrics) => process.send?.({ type: 'metrics', id: message.id, metrics } satisfies MetricsAnswer));
  });
}
