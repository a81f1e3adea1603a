import { parentPort, workerData } from 'node:worker_threads';
import { Backtest } from '../core/backtest.js';
import { geofenceFromFeature, isGeofenceError } from '../core/geometry/geofence.js';
import { backtestDeviceTags, backtestFixes, countBacktestPositions, lockTenantBacktest, openBacktestSession } from '../store/backtest-positions.js';
import { backtestEvent, type BacktestJob, type BacktestMessage } from './backtest-job.js';

/** Events sent to the main thread at a time. */
const EVENTS_PER_MESSAGE = 500;

const send = (message: BacktestMessage) => parentPort?.postMessage(message);

/**
 * One backtest, in a thread of its own: takes the tenant's lock, counts the positions against
 * the limit, then reads them by device and time through a cursor and runs the geofence rule over
 * them, sending the events as they come. Its session (and so the lock) ends with the thread.
 */
async function run(job: BacktestJob): Promise<void> {
  const geofence = geofenceFromFeature(job.tenantId, job.feature, job.geofenceId, true);
  if (isGeofenceError(geofence)) return send({ kind: 'refused', code: 'invalid_request', message: `geofence: ${geofence.message}` });
  const client = await openBacktestSession(job.databaseUrl);
  try {
    if (!(await lockTenantBacktest(client, job.tenantId))) {
      return send({ kind: 'refused', code: 'conflict', message: 'a backtest of this tenant is running: one runs at a time; try again when it has finished' });
    }
    const range = { tenantId: job.tenantId, from: new Date(job.from), to: new Date(job.to), deviceIds: job.deviceIds };
    const positions = await countBacktestPositions(client, range, job.maxPositions);
    if (positions > job.maxPositions) {
      return send({ kind: 'refused', code: 'invalid_request', message: `the range holds more than ${job.maxPositions} positions, the most one backtest reads: narrow from and to, or name device_ids` });
    }
    send({ kind: 'started', positions });
    const backtest = new Backtest(job.tenantId, geofence, job.rules, await backtestDeviceTags(client, job.tenantId));
    let events = [];
    for await (const fixes of backtestFixes(client, range)) {
      for (const fix of fixes) for (const event of backtest.take(fix)) events.push(backtestEvent(event));
      if (events.length >= EVENTS_PER_MESSAGE) {
        send({ kind: 'events', events });
        events = [];
      }
    }
    if (events.length > 0) send({ kind: 'events', events });
    send({ kind: 'done', ...backtest.counts });
  } finally {
    await client.end().catch(() => undefined);
  }
}

run(workerData as BacktestJob).catch((err: Error) => send({ kind: 'failed', message: err.message }));
