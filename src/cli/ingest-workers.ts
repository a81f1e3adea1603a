import { fork, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { MetricObjectWithValues, MetricValue, Registry } from 'prom-client';

/** The IPC messages between `serve` and its ingest workers. */
type MetricsRequest = { readonly type: 'metrics'; readonly id: number };
type MetricsAnswer = { readonly type: 'metrics'; readonly id: number; readonly metrics: MetricObjectWithValues<MetricValue<string>>[] };

/** Set in a worker's environment: it is one of `serve`'s ingest workers. */
export const WORKER_ENV = 'FENCEWIRE_INGEST_WORKER';

const RESTART_DELAY_MS = 1000;
const METRICS_TIMEOUT_MS = 2000;

/**
 * `serve --workers N`: N ingest processes, each an ordinary processor that leases its share of
 * the partitions, so that ingest uses every core. Each is `fencewire serve --role ingest` run
 * as a child (same Node.js flags), restarted when it dies; SIGTERM is passed on and waited for.
 * Their metrics reach the parent's /metrics over IPC.
 */
export class IngestWorkers {
  private readonly children = new Set<ChildProcess>();
  private stopping = false;
  private nextRequest = 0;

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
    child.once('exit', (code, signal) => {
      this.children.delete(child);
      if (this.stopping) return;
      this.log.error({ worker: index, code, signal }, 'ingest worker died; starting another');
      void sleep(RESTART_DELAY_MS).then(() => this.stopping || this.spawn(index));
    });
  }

  /** Every worker's metrics, for aggregation with the parent's own. */
  async metrics(): Promise<MetricObjectWithValues<MetricValue<string>>[][]> {
    return (await Promise.all([...this.children].map((child) => this.ask(child)))).filter((m) => m !== null);
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
export function answerMetrics(registry: Registry): void {
  process.on('message', (message: MetricsRequest) => {
    if (message?.type !== 'metrics') return;
    void registry.getMetricsAsJSON().then((metrics) => process.send?.({ type: 'metrics', id: message.id, metrics } satisfies MetricsAnswer));
  });
}
