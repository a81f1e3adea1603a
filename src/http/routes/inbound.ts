import type { FastifyInstance } from 'fastify';
import type { TenantQuotas } from '../../core/tenant-quotas.js';
import type { ApiBus } from '../../bus/api-bus.js';
import { envelope } from '../../core/event.js';
import { occurredAtProblem } from '../../core/rules/dvir.js';
import { COMMAND_EVENTS } from '../../core/event-sources.js';
import { NO_DEVICE } from '../../core/commands.js';
import { ApiError } from '../api-error.js';
import { listAnswer, parsePage } from '../pagination.js';
import { answer, answers } from '../answers.js';
import { pageQuery } from '../schemas.js';
import type { EventLog } from '../../core/store-ports.js';

/**
 * `POST /api/integration/webhook`: an event from another product, kept in the audit log, and
 * `GET /v1/inbound-events` to read that log back, newest first.
 */
export function inboundRoutes(app: FastifyInstance, eventLog: EventLog, bus: ApiBus, quotas: TenantQuotas): void {
  app.post('/api/integration/webhook', {
    bodyLimit: quotas.inboundMaxBytes,
    schema: {
      tags: ['integration'], summary: 'An event from another product, kept in the audit log (dvir.* also re-emitted as dvir.submitted)', body: { type: 'object' },
      response: answers({
        202: answer.object({ id: { type: 'integer' }, received_at: answer.time, event_id: { ...answer.text, description: 'the dvir.submitted event, for a dvir.* inbound event' } }, ['id', 'received_at']),
      }, { body: true, errors: [413, 429, 503] }),
    },
  }, async (request, reply) => {
    const body = request.body;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new ApiError('invalid_request', 'the body must be a JSON object');
    }
    const timeProblem = occurredAtProblem(body as Record<string, unknown>);
    if (timeProblem !== null) throw new ApiError('invalid_request', timeProblem);
    const bytes = Number(request.headers['content-length'] ?? Buffer.byteLength(JSON.stringify(body)));
    const usage = await eventLog.inboundCount(request.tenantId, 60);
    if (usage.count >= quotas.inboundEventsPerMinute) {
      throw new ApiError('rate_limited', `this tenant posted ${usage.count} inbound events in the last minute, its limit (TENANT_INBOUND_EVENTS_PER_MINUTE is ${quotas.inboundEventsPerMinute}); retry after ${usage.retryAfterS} s`, usage.retryAfterS);
    }
    const bytesUsage = await eventLog.inboundBytes(request.tenantId, 60);
    if (bytesUsage.count + bytes > quotas.inboundBytesPerMinute) {
      throw new ApiError('rate_limited', `this tenant posted ${bytesUsage.count} bytes of inbound events in the last minute and this one has ${bytes}, past its limit (TENANT_INBOUND_BYTES_PER_MINUTE is ${quotas.inboundBytesPerMinute}); retry after ${bytesUsage.retryAfterS} s`, bytesUsage.retryAfterS);
    }
    // The event it becomes is checked before anything is kept: escaped as the envelope writes it
    // (non-ASCII text up to sixfold), one too large for the bus could never be published, and
    // every resend would fail the same way.
    const probe = COMMAND_EVENTS.inboundDvir(request.tenantId, body as Record<string, unknown>, '0', Date.now());
    const envelopeBytes = probe === null ? 0 : envelope(probe).length;
    if (envelopeBytes > quotas.eventMaxBytes) {
      throw new ApiError('payload_too_large', `the ${probe?.type} event this body becomes would be ${envelopeBytes} bytes once escaped as ASCII JSON; the limit is ${quotas.eventMaxBytes} (EVENT_MAX_BYTES): send less text`);
    }
    // The event it causes goes down the telemetry stream as a command, so that the partition's
    // owner commits it and publishes it through the outbox like every other event. The answer
    // waits for the command to be stored, so that a sender told 202 never loses it (a 503 asks
    // for a resend; one with the sender's id is the same event).
    const receipt = await eventLog.recordInbound(request.tenantId, body, bytes);
    const submission = { tenantId: request.tenantId, receiptId: receipt.id, receivedAt: receipt.received_at.getTime(), body: body as Record<string, unknown> };
    const event = COMMAND_EVENTS.inboundDvir(submission.tenantId, submission.body, submission.receiptId, submission.receivedAt);
    if (event !== null) {
      await bus.submitInbound(submission, event.deviceId ?? NO_DEVICE).catch((err: Error) => {
        throw new ApiError('unavailable', `the inbound event is in the audit log, but ${event.type} could not be queued (${err.message}); send it again`);
      });
    }
    return reply.code(202).send({ id: Number(receipt.id), received_at: receipt.received_at, ...(event === null ? {} : { event_id: event.id }) });
  });

  app.get('/v1/inbound-events', {
    schema: { tags: ['integration'], summary: 'The audit log of inbound events, newest first', querystring: pageQuery(), response: answers({ 200: answer.list(answer.inboundEvent) }) },
  }, async (request) => {
    const page = parsePage(request.query as Record<string, unknown>);
    return listAnswer(request.url, page, await eventLog.inbound(request.tenantId, page));
  });
}
