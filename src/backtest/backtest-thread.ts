import { startWorker } from '../worker-script.js';
import type { BacktestJob, BacktestMessage } from './backtest-job.js';

/** Heap a backtest thread may use: the events it has not sent yet, and one chunk of fixes. */
const WORKER_HEAP_MB = 512;

/** A running backtest: its messages in order, ending with done, refused or failed. */
export interface BacktestRun {
  readonly messages: AsyncIterable<BacktestMessage>;
  /** Ends the thread (the client went away); its session and lock end with it. */
  stop(): Promise<void>;
}

/** Starts a backtest on a worker thread of its own, off the event loop. */
export function startBacktest(job: BacktestJob): BacktestRun {
  const worker = startWorker(import.meta.url, 'backtest-worker', { workerData: job, resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB } });
  const queue: BacktestMessage[] = [];
  let wake: (() => void) | null = null;
  let ended = false;
  const push = (message: BacktestMessage) => {
    if (ended) return;
    queue.push(message);
    if (message.kind === 'done' || message.kind === 'refused' || message.kind === 'failed') ended = true;
    wake?.();
  };
  worker.on('message', push);
  worker.on('error', (err) => push({ kind: 'failed', message: err.message }));
  worker.on('exit', (code) => push({ kind: 'failed', message: `the backtest thread stopped (exit code ${code})` }));
  return {
    messages: {
      async *[Symbol.asyncIterator]() {
        for (;;) {
          const next = queue.shift();
          if (next !== undefined) {
            yield next;
            if (next.kind === 'done' || next.kind === 'refused' || next.kind === 'failed') return;
            continue;
          }
          await new Promise<void>((resolve) => (wake = resolve));
          wake = null;
        }
      },
    },
    async stop() {
      await worker.terminate();
    },
  };
}
