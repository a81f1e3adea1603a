import { parentPort } from 'node:worker_threads';
import { toTransfer } from './geofence-transfer.js';
import { prepareStored, validateCollection } from './geofence-validation.js';
import type { GeometryJob, GeometryReply, PreparedRows } from './geometry-thread.js';

/** Stored geofences prepared here, sent back as data. */
function prepare(tenantId: string, rows: readonly { id: string; feature: unknown }[]): PreparedRows {
  const { geofences, invalid } = prepareStored(tenantId, rows);
  return { geofences: geofences.map(toTransfer), invalid };
}

/** The geometry thread: validation and preparation, CPU-bound work kept off the event loop. */
parentPort?.on('message', (job: GeometryJob) => {
  let reply: GeometryReply;
  try {
    const result = job.kind === 'validate'
      ? validateCollection(job.tenantId, job.collection, job.maxVertices)
      : prepare(job.tenantId, job.rows);
    reply = { id: job.id, result };
  } catch (err) {
    reply = { id: job.id, error: (err as Error).message };
  }
  parentPort?.postMessage(reply);
});
