import type { FastifyInstance } from 'fastify';
import type pg from 'pg';
import { randomBytes } from 'node:crypto';
import type { Config } from '../../config.js';
import { replayUsage, withinEndpointQuota } from '../../store/tenant-usage.js';
import { webhookUrlError } from '../../webhooks/address-guard.js';
import { requestedDeliveryId } from '../../webhooks/delivery-store.js';
import { customHeaderError } from '../../webhooks/endpoint-headers.js';
import { generateSecret, secretError } from '../../webhooks/signature.js';
import { subscriptionPatternError } from '../../webhooks/subscription.js';
import { testEventEnvelope } from '../../webhooks/test-event.js';
import { ApiError } from '../api-error.js';
import { listPage, parsePage } from '../pagination.js';
import { answer, answers } from '../answers.js';
import { idParams, pageQuery, webhookBody } from '../schemas.js';

interface EndpointInput {
  url?: string;
  events?: string[];
  secret?: string;
  headers?: Record<string, string>;
  enabled?: boolean;
  description?: string | null;
}

const ENDPOINT_COLUMNS = 'id, url, events, headers, enabled, description, created_at, updated_at';
/** A delivery with every attempt, oldest first. */
const DELIVERY_COLUMNS = `d.id, d.event_id, d.event_type, d.status, d.next_attempt_at, d.replay_of, d.created_at, d.completed_at,
  coalesce((SELECT json_agg(json_build_object('attempt', a.attempt, 'started_at', a.started_at, 'status_code', a.status_code,
                   'latency_ms', a.latency_ms, 'error', a.error, 'response_body', a.response_body) ORDER BY a.attempt)
              FROM webhook_attempts a WHERE a.delivery_id = d.id), '[]') AS attempts`;

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

async function findEndpoint(db: pg.Pool, tenantId: string, id: string): Promise<Record<string, unknown>> {
  const result = await db.query(`SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE tenant_id = $1 AND id = $2`, [tenantId, id]);
  if (result.rowCount === 0) throw new ApiError('not_found', `no webhook endpoint "${id}" in this tenant`);
  return result.rows[0] as Record<string, unknown>;
}

/**
 * `/v1/webhooks` (endpoints, their delivery logs and test events) and
 * `/v1/deliveries/{id}/replay` (contract sections 5 and 6).
 */
export function webhookRoutes(app: FastifyInstance, db: pg.Pool, allowPrivate: boolean, quotas: Config['quotas']): void {
  const tags = ['webhooks'];

  app.post('/v1/webhooks', {
    schema: { tags, summary: 'Create an endpoint; the answer holds its secret, shown once', body: webhookBody(['url', 'events']), response: answers({ 201: answer.endpoint }, { body: true, errors: [403] }) },
  }, async (request, reply) => {
    const input = request.body as EndpointInput;
    await checkEndpoint(input, allowPrivate);
    const id = `whk_${randomBytes(12).toString('hex')}`;
    const secret = input.secret ?? generateSecret();
    const created = await withinEndpointQuota(db, request.tenantId, quotas.webhookEndpoints, (client) => client.query(
      `INSERT INTO webhook_endpoints (id, tenant_id, url, events, secret, headers, enabled, description)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING ${ENDPOINT_COLUMNS}`,
      [id, request.tenantId, input.url, input.events, secret, JSON.stringify(input.headers ?? {}), input.enabled ?? true, input.description ?? null],
    ));
    if (created === null) throw new ApiError('quota_exceeded', `this tenant has ${quotas.webhookEndpoints} webhook endpoints, its limit (TENANT_MAX_WEBHOOKS); delete one first`);
    // A secret the caller chose is not echoed back; a generated one is shown this once.
    return reply.code(201).send({ ...created.rows[0], ...(input.secret === undefined ? { secret } : {}) });
  });

  app.get('/v1/webhooks', { schema: { tags, summary: 'List endpoints', querystring: pageQuery(), response: answers({ 200: answer.list(answer.endpoint) }) } }, async (request) => {
    const page = parsePage(request.query as Record<string, unknown>);
    return listPage(db, request.url, page, { select: ENDPOINT_COLUMNS, from: 'webhook_endpoints', where: 'tenant_id = $1', orderBy: 'created_at, id' }, [request.tenantId]);
  });

  app.get('/v1/webhooks/:id', { schema: { tags, summary: 'Read an endpoint (without its secret)', params: idParams, response: answers({ 200: answer.endpoint }, { id: true }) } }, async (request) =>
    findEndpoint(db, request.tenantId, (request.params as { id: string }).id));

  app.put('/v1/webhooks/:id', {
    schema: {
      tags, summary: 'Change an endpoint: the fields given replace the stored ones; a secret given rotates it', params: idParams, body: webhookBody([]),
      response: answers({ 200: answer.endpoint }, { body: true, id: true }),
    },
  }, async (request) => {
    const { id } = request.params as { id: string };
    const input = request.body as EndpointInput;
    const stored = await findEndpoint(db, request.tenantId, id) as { url: string; headers: Record<string, string> };
    // The endpoint as it will be, checked whole: a URL or header saved under older rules, or
    // while private addresses were allowed, is refused now too.
    await checkEndpoint({ ...input, url: input.url ?? stored.url, headers: input.headers ?? stored.headers }, allowPrivate);
    await db.query(
      `UPDATE webhook_endpoints SET url = coalesce($3, url), events = coalesce($4, events), secret = coalesce($5, secret),
              headers = coalesce($6, headers), enabled = coalesce($7, enabled),
              description = CASE WHEN $8 THEN $9 ELSE description END, updated_at = now()
        WHERE tenant_id = $1 AND id = $2`,
      [request.tenantId, id, input.url ?? null, input.events ?? null, input.secret ?? null,
        input.headers === undefined ? null : JSON.stringify(input.headers), input.enabled ?? null, 'description' in input, input.description ?? null],
    );
    return findEndpoint(db, request.tenantId, id);
  });

  app.delete('/v1/webhooks/:id', { schema: { tags, summary: 'Delete an endpoint and its delivery log', params: idParams, response: answers({ 204: answer.deleted }, { id: true }) } }, async (request, reply) => {
    const { id } = request.params as { id: string };
    const result = await db.query('DELETE FROM webhook_endpoints WHERE tenant_id = $1 AND id = $2', [request.tenantId, id]);
    if (result.rowCount === 0) throw new ApiError('not_found', `no webhook endpoint "${id}" in this tenant`);
    return reply.code(204).send();
  });

  app.get('/v1/webhooks/:id/deliveries', {
    schema: {
      tags, summary: 'The delivery log, newest first, each delivery with every attempt', params: idParams,
      querystring: pageQuery({ status: { type: 'string', enum: ['pending', 'succeeded', 'failed'] } }),
      response: answers({ 200: answer.list(answer.delivery) }, { id: true }),
    },
  }, async (request) => {
    const { id } = request.params as { id: string };
    const query = request.query as Record<string, unknown>;
    const page = parsePage(query);
    await findEndpoint(db, request.tenantId, id);
    const params = [request.tenantId, id, query.status ?? null];
    const where = 'd.tenant_id = $1 AND d.endpoint_id = $2 AND ($3::text IS NULL OR d.status = $3)';
    return listPage(db, request.url, page, { select: DELIVERY_COLUMNS, from: 'webhook_deliveries d', where, orderBy: 'd.created_at DESC, d.id' }, params);
  });

  app.post('/v1/webhooks/:id/test', {
    schema: { tags, summary: 'Send a webhook.test event to this endpoint only', params: idParams, response: answers({ 202: answer.object({ delivery_id: answer.text, event_id: answer.text }) }, { id: true }) },
  }, async (request, reply) => {
    const { id } = request.params as { id: string };
    await findEndpoint(db, request.tenantId, id);
    const event = testEventEnvelope(request.tenantId, Date.now());
    const deliveryId = requestedDeliveryId();
    await db.query(
      `INSERT INTO webhook_deliveries (id, endpoint_id, tenant_id, event_id, event_type, body, replay_of)
       VALUES ($1, $2, $3, $4, $5, $6, NULL)`,
      [deliveryId, id, request.tenantId, event.id, event.type, event.body],
    );
    return reply.code(202).send({ delivery_id: deliveryId, event_id: event.id });
  });

  app.post('/v1/deliveries/:id/replay', {
    schema: {
      tags, summary: 'Deliver an event again, as a new delivery with attempts of its own', params: idParams,
      response: answers({ 202: answer.object({ delivery_id: answer.text, replay_of: answer.text }) }, { id: true, errors: [429] }),
    },
  }, async (request, reply) => {
    const { id } = request.params as { id: string };
    const usage = await replayUsage(db, id, 3600);
    if (usage.count >= quotas.replaysPerDeliveryPerHour) {
      throw new ApiError('rate_limited', `delivery "${id}" was replayed ${usage.count} times in the last hour, its limit (REPLAYS_PER_DELIVERY_PER_HOUR is ${quotas.replaysPerDeliveryPerHour}); retry after ${usage.retryAfterS} s`, usage.retryAfterS);
    }
    const newId = requestedDeliveryId();
    const result = await db.query(
      // A replay of a replay is a replay of the first delivery: one quota for them all.
      `INSERT INTO webhook_deliveries (id, endpoint_id, tenant_id, event_id, event_type, body, replay_of)
       SELECT $3, endpoint_id, tenant_id, event_id, event_type, body, coalesce(replay_of, id) FROM webhook_deliveries WHERE tenant_id = $1 AND id = $2`,
      [request.tenantId, id, newId],
    );
    if (result.rowCount === 0) throw new ApiError('not_found', `no delivery "${id}" in this tenant`);
    return reply.code(202).send({ delivery_id: newId, replay_of: id });
  });
}
