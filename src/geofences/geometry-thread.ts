import type { Worker } from 'node:worker_threads';
import { startWorker } from '../worker-script.js';
import type { TransferredGeofence } from './geofence-transfer.js';
import type { ValidationResult } from './geofence-validation.js';
import { FencewireError } from '../errors.js';

export type GeometryJob =
  | { readonly id: number; readonly kind: 'validate'; readonly tenantId: string; readonly collection: unknown; readonly maxVertices: number }
  | { readonly id: number; readonly kind: 'prepare'; readonly tenantId: string; readonly rows: readonly { id: string; feature: unknown }[] };

export type GeometryReply = { readonly id: number; readonly result: unknown } | { readonly id: number; readonly error: string };

export interface PreparedRows {
  readonly geofences: TransferredGeofence[];
  /** Stored features that no longer parse, with why. */
  readonly invalid: { id: string; message: string }[];
}

type Job = GeometryJob extends infer J ? (J extends GeometryJob ? Omit<J, 'id'> : never) : never;

/** Heap the geometry thread may use: a hostile geometry fails its own request, not the process. */
const WORKER_HEAP_MB = 1024;

/**
 * One worker thread for geofence validation and preparation, which take up to seconds for a
 * large outline: done here, they leave the event loop (health, ingest, the API) responsive.
 * Jobs run one at a time, in order. A worker that dies fails the jobs it held; the next job
 * starts a new one.
 */
export class GeometryThread {
  private worker: Worker | null = null;
  private readonly pending = new Map<number, { resolve: (value: unknown) => void; reject: (err: Error) => void }>();
  private nextId = 1;

  validate(tenantId: string, collection: unknown, maxVertices: number): Promise<ValidationResult> {
    return this.run({ kind: 'validate', tenantId, collection, maxVertices }) as Promise<ValidationResult>;
  }

  prepare(tenantId: string, rows: readonly { id: string; feature: unknown }[]): Promise<PreparedRows> {
    return this.run({ kind: 'prepare', tenantId, rows }) as Promise<PreparedRows>;
  }

  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = null;
    await worker?.terminate();
  }

  private run(job: Job): Promise<unknown> {
    const id = this.nextId++;
    const worker = this.started();
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.ref();
      worker.postMessage({ ...job, id });
    });
  }

  private started(): Worker {
    if (this.worker) return this.worker;
    const options = { resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB } };
    const worker = startWorker(import.meta.url, 'geometry-worker', options);
    worker.on('message', (reply: GeometryReply) => {
      const job = this.pending.get(reply.id);
      this.pending.delete(reply.id);
      if (this.pending.size === 0) worker.unref();
      if ('error' in reply) job?.reject(new FencewireError('geometry_failed', reply.error));
      else job?.resolve(reply.result);
    });
    const fail = (err: Error) => {
      if (this.worker === worker) this.worker = null;
      for (const job of this.pending.values()) job.reject(new FencewireError('geometry_thread_stopped', `the geometry thread stopped: ${err.message}`, { cause: err }));
      this.pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`exit code ${code}`)));
    worker.unref();
    this.worker = worker;
    return worker;
  }
}
