import type { FastifyInstance } from 'fastify';
import { randomBytes } from 'node:crypto';
import type { TenantQuotas } from '../../core/tenant-quotas.js';
import { webhookUrlError } from '../../webhooks/address-guard.js';
import { requestedDeliveryId } from '../../core/delivery.js';
import { customHeaderError } from '../../webhooks/endpoint-headers.js';
import { generateSecret, secretError } from '../../webhooks/signature.js';
import { subscriptionPatternError } from '../../webhooks/subscription.js';
import { testEventEnvelope } from '../../webhooks/test-event.js';
import { ApiError } from '../api-error.js';
import { listAnswer, parsePage } from '../pagination.js';
import { answer, answers } from '../answers.js';
import { idParams, pageQuery, webhookBody } from '../schemas.js';
import type { EndpointRow, WebhookEndpoints } from '../../core/store-ports.js';

interface EndpointInput {
  url?: string;
  events?: string[];
  secret?: string;
  headers?: Record<string, string>;
  enabled?: boolean;
  description?: string | null;
  throttle?: { seconds: number } | null;
}

/** Checks what a schema cannot: subscription patterns, the secret, header names, the URL's addresses. */
async function checkEndpoint(input: EndpointInput, allowPrivate: boolean): Promise<void> {
  const problems = [
    ...(input.events ?? []).map(subscriptionPatternError),
    input.secret === undefined ? null : secretError(input.secret),
    ...Object.entries(input.headers ?? {}).map(([name, value]) => customHeaderError(name, value)),
    input.url === undefined ? null : await webhookUrlError(input.url, allowPrivate),
  ].filter((p): p is string => p !== null);
  if (problems.length > 0) throw new ApiError('invalid_request', problems.join('; '));
}

async function findEndpoint(endpoints: WebhookEndpoints, tenantId: string, id: string): Promise<EndpointRow> {
  const endpoint = await endpoints.find(tenantId, id);
  if (endpoint === null) throw new ApiError('not_found', `no webhook endpoint "${id}" in this tenant`);
  return endpoint;
}

/**
 * `/v1/webhooks` (endpoints, their delivery logs and test events) and
 * `/v1/deliveries/{id}/replay` (contract sections 5 and 6).
 */
export function webhookRoutes(app: FastifyInstance, endpoints: WebhookEndpoints, allowPrivate: boolean, quotas: TenantQuotas): void {
  const tags = ['webhooks'];

  app.post('/v1/webhooks', {
    schema: { tags, summary: 'Create an endpoint; the answer holds its secret, shown once', body: webhookBody(['url', 'events']), response: answers({ 201: answer.endpoint }, { body: true, errors: [403] }) },
  }, async (request, reply) => {
    const input = request.body as EndpointInput;
    await checkEndpoint(input, allowPrivate);
    const id = `whk_${randomBytes(12).toString('hex')}`;
    const secret = input.secret ?? generateSecret();
    const created = await endpoints.create(request.tenantId, {
      id, url: input.url as string, events: input.events ?? [], secret, headers: input.headers ?? {}, enabled: input.enabled ?? true, description: input.description ?? null,
      throttleS: input.throttle?.seconds ?? null,
    }, quotas.webhookEndpoints);
    if (created === null) throw new ApiError('quota_exceeded', `this tenant has ${quotas.webhookEndpoints} webhook endpoints, its limit (TENANT_MAX_WEBHOOKS); delete one first`);
    // A secret the caller chose is not echoed back; a generated one is shown this once.
    return reply.code(201).send({ ...created, ...(input.secret === undefined ? { secret } : {}) });
  });

  app.get('/v1/webhooks', { schema: { tags, summary: 'List endpoints', querystring: pageQuery(), response: answers({ 200: answer.list(answer.endpoint) }) } }, async (request) => {
    const page = parsePage(request.query as Record<string, unknown>);
    return listAnswer(request.url, page, await endpoints.list(request.tenantId, page));
  });

  app.get('/v1/webhooks/:id', { schema: { tags, summary: 'Read an endpoint (without its secret)', params: idParams, response: answers({ 200: answer.endpoint }, { id: true }) } }, async (request) =>
    findEndpoint(endpoints, request.tenantId, (request.params as { id: string }).id));

  app.put('/v1/webhooks/:id', {
    schema: {
      tags, summary: 'Change an endpoint: the fields given replace the stored ones; a secret given rotates it', params: idParams, body: webhookBody([]),
      response: answers({ 200: answer.endpoint }, { body: true, id: true }),
    },
  }, async (request) => {
    const { id } = request.params as { id: string };
    const input = request.body as EndpointInput;
    const stored = await findEndpoint(endpoints, request.tenantId, id);
    // The endpoint as it will be, checked whole: a URL or header saved under older rules, or
    // while private addresses were allowed, is refused now too.
    await checkEndpoint({ ...input, url: input.url ?? stored.url, headers: input.headers ?? stored.headers }, allowPrivate);
    const { throttle, ...rest } = input;
    await endpoints.update(request.tenantId, id, { ...rest, ...(throttle === undefined ? {} : { throttleS: throttle?.seconds ?? null }) });
    return findEndpoint(endpoints, request.tenantId, id);
  });

  app.delete('/v1/webhooks/:id', { schema: { tags, summary: 'Delete an endpoint and its delivery log', params: idParams, response: answers({ 204: answer.deleted }, { id: true }) } }, async (request, reply) => {
    const { id } = request.params as { id: string };
    if (!(await endpoints.remove(request.tenantId, id))) throw new ApiError('not_found', `no webhook endpoint "${id}" in this tenant`);
    return reply.code(204).send();
  });

  app.get('/v1/webhooks/:id/deliveries', {
    schema: {
      tags, summary: 'The delivery log, newest first, each delivery with every attempt', params: idParams,
      querystring: pageQuery({ status: { type: 'string', enum: ['pending', 'succeeded', 'failed', 'throttled'] } }),
      response: answers({ 200: answer.list(answer.delivery) }, { id: true }),
    },
  }, async (request) => {
    const { id } = request.params as { id: string };
    const query = request.query as Record<string, unknown>;
    const page = parsePage(query);
    await findEndpoint(endpoints, request.tenantId, id);
    const status = typeof query.status === 'string' ? query.status : null;
    return listAnswer(request.url, page, await endpoints.deliveries(request.tenantId, id, status, page));
  });

  app.post('/v1/webhooks/:id/test', {
    schema: { tags, summary: 'Send a webhook.test event to this endpoint only', params: idParams, response: answers({ 202: answer.object({ delivery_id: answer.text, event_id: answer.text }) }, { id: true }) },
  }, async (request, reply) => {
    const { id } = request.params as { id: string };
    await findEndpoint(endpoints, request.tenantId, id);
    const event = testEventEnvelope(request.tenantId, Date.now());
    const deliveryId = requestedDeliveryId();
    await endpoints.queue({ id: deliveryId, endpointId: id, tenantId: request.tenantId, eventId: event.id, eventType: event.type, body: event.body });
    return reply.code(202).send({ delivery_id: deliveryId, event_id: event.id });
  });

  app.post('/v1/deliveries/:id/replay', {
    schema: {
      tags, summary: 'Deliver an event again, as a new delivery with attempts of its own', params: idParams,
      response: answers({ 202: answer.object({ delivery_id: answer.text, replay_of: answer.text }) }, { id: true, errors: [429] }),
    },
  }, async (request, reply) => {
    const { id } = request.params as { id: string };
    const usage = await endpoints.replays(id, 3600);
    if (usage.count >= quotas.replaysPerDeliveryPerHour) {
      throw new ApiError('rate_limited', `delivery "${id}" was replayed ${usage.count} times in the last hour, its limit (REPLAYS_PER_DELIVERY_PER_HOUR is ${quotas.replaysPerDeliveryPerHour}); retry after ${usage.retryAfterS} s`, usage.retryAfterS);
    }
    const newId = requestedDeliveryId();
    if (!(await endpoints.replay(request.tenantId, id, newId))) throw new ApiError('not_found', `no delivery "${id}" in this tenant`);
    return reply.code(202).send({ delivery_id: newId, replay_of: id });
  });
}
