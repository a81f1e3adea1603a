import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { BacktestJob, BacktestMessage } from '../../backtest/backtest-job.js';
import type { BacktestRun } from '../../backtest/backtest-thread.js';
import { resolveRules } from '../../core/rule-config.js';
import type { GeofenceStore, TenantStore } from '../../core/store-ports.js';
import { TOKEN } from '../../core/token.js';
import { answer, answers } from '../answers.js';
import { ApiError } from '../api-error.js';
import { geofenceFeature, timeRange } from '../schemas.js';
import { findGeofence } from './geofences.js';

const tags = ['geofences'];

/** The longest range one backtest covers. */
export const MAX_BACKTEST_DAYS = 7;
const MAX_DEVICE_IDS = 1000;
/** The id a draft without properties.id gets in its events. */
const DRAFT_ID = 'draft';

/** Starts a backtest (on a thread of its own, with the database the API uses). */
export type StartBacktest = (job: Omit<BacktestJob, 'databaseUrl'>) => BacktestRun;

export interface BacktestRouteDeps {
  readonly geofences: Pick<GeofenceStore, 'feature'>;
  readonly tenants: Pick<TenantStore, 'rules'>;
  readonly start: StartBacktest;
  /** The most stored positions one backtest reads (BACKTEST_MAX_POSITIONS). */
  readonly maxPositions: number;
}

interface BacktestBody {
  readonly geofence?: { properties?: { id?: unknown } | null };
  readonly geofence_id?: string;
  readonly from: string;
  readonly to: string;
  readonly device_ids?: string[];
}

/**
 * The answer as a stream of JSON text: the head, each event as it comes, and a summary, or an
 * `error` in place of the summary when the thread failed after the answer began.
 */
async function* answerText(head: Record<string, unknown>, messages: AsyncIterator<BacktestMessage>, run: BacktestRun): AsyncGenerator<string> {
  let count = 0;
  try {
    yield `${JSON.stringify(head).slice(0, -1)},"events":[`;
    for (;;) {
      const { value: message, done } = await messages.next();
      if (done === true) return;
      if (message.kind === 'events') {
        yield `${count === 0 ? '' : ','}${message.events.map((e) => JSON.stringify(e)).join(',')}`;
        count += message.events.length;
      } else if (message.kind === 'done') {
        yield `],"summary":${JSON.stringify({ fixes: message.fixes, devices: message.devices, events: count })}}`;
        return;
      } else if (message.kind === 'failed') {
        yield `],"error":${JSON.stringify({ code: 'internal_error', message: `the backtest failed after ${count} events: ${message.message}` })}}`;
        return;
      }
    }
  } finally {
    // The client went away, or the answer is complete: the thread (and its session) ends.
    await run.stop();
  }
}

/** `POST /v1/geofences/backtest`: what a draft or stored geofence would have derived over stored positions. */
export function backtestRoutes(app: FastifyInstance, deps: BacktestRouteDeps): void {
  app.post('/v1/geofences/backtest', {
    schema: {
      tags,
      summary: `The events a geofence (a draft Feature, or a stored one's id) would have derived over the stored positions of [from, to): at most ${MAX_BACKTEST_DAYS} days and BACKTEST_MAX_POSITIONS (5 000 000 by default) positions; one backtest per tenant at a time (409 while one runs). The answer streams; events are by device, then time`,
      body: {
        type: 'object', additionalProperties: false, required: ['from', 'to'],
        properties: {
          geofence: { ...geofenceFeature, description: 'a draft geofence (contract section 4), not stored' },
          geofence_id: { type: 'string', pattern: TOKEN.source, description: 'a stored geofence, instead of a draft' },
          ...timeRange,
          device_ids: { type: 'array', maxItems: MAX_DEVICE_IDS, uniqueItems: true, items: { type: 'string', pattern: TOKEN.source }, description: 'only these devices; all when absent' },
        },
      },
      response: answers({ 200: answer.backtest }, { body: true, errors: [409] }),
    },
  }, async (request, reply) => {
    const body = request.body as BacktestBody;
    if ((body.geofence === undefined) === (body.geofence_id === undefined)) throw new ApiError('invalid_request', 'give one of geofence (a draft Feature) and geofence_id (a stored geofence)');
    const from = Date.parse(body.from);
    const to = Date.parse(body.to);
    if (!(from < to)) throw new ApiError('invalid_request', `from must be before to, got from ${body.from} and to ${body.to}`);
    if (to - from > MAX_BACKTEST_DAYS * 86_400_000) throw new ApiError('invalid_request', `from to to spans more than ${MAX_BACKTEST_DAYS} days, the longest one backtest covers: split the range`);
    const tenantId = request.tenantId;
    let feature: unknown = body.geofence;
    let geofenceId = typeof body.geofence?.properties?.id === 'string' ? body.geofence.properties.id : DRAFT_ID;
    if (body.geofence_id !== undefined) {
      geofenceId = body.geofence_id;
      feature = await findGeofence(deps.geofences, tenantId, geofenceId);
    }
    const { rules } = resolveRules(await deps.tenants.rules(tenantId));
    const run = deps.start({
      tenantId, geofenceId, feature, rules, from: new Date(from).toISOString(), to: new Date(to).toISOString(), deviceIds: body.device_ids ?? null, maxPositions: deps.maxPositions,
    });
    const messages = run.messages[Symbol.asyncIterator]();
    const first = (await messages.next()).value as BacktestMessage | undefined;
    if (first?.kind !== 'started') {
      await run.stop();
      if (first?.kind === 'refused') throw new ApiError(first.code, first.message);
      throw new ApiError('internal_error', `the backtest could not start: ${first?.kind === 'failed' ? first.message : 'no answer from its thread'}`);
    }
    const head = { geofence_id: geofenceId, from: new Date(from).toISOString(), to: new Date(to).toISOString(), positions: first.positions };
    return reply.type('application/json; charset=utf-8').send(Readable.from(answerText(head, messages, run)));
  });
}
