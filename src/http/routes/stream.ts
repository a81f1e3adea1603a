import type { FastifyInstance } from 'fastify';
import { subscriptionPatternError } from '../../webhooks/subscription.js';
import { ApiError } from '../api-error.js';
import { hashKey } from '../../store/key-store.js';
import { keyFromHeaders } from '../api-keys.js';
import { answers } from '../answers.js';
import type { LiveStreams } from '../live-stream.js';

/** `GET /v1/stream`: the tenant's positions and events as server-sent events (the live map's feed). */
export function streamRoutes(app: FastifyInstance, live: LiveStreams): void {
  app.get('/v1/stream', {
    schema: {
      tags: ['stream'],
      summary: 'Server-sent events of the tenant\'s positions (event: position) and derived events (event: event, the envelope), live',
      description: 'Send the key in a header (use fetch with a streaming body; EventSource cannot). A client that leaves 1 MiB unread is disconnected.',
      querystring: {
        type: 'object', additionalProperties: false,
        properties: {
          types: { type: 'string', maxLength: 2000, description: 'comma-separated event types or prefixes such as geofence.*; all when absent' },
          positions: { type: 'string', enum: ['true', 'false'], description: 'send positions (default true)' },
        },
      },
      response: answers({ 200: { description: 'OK', content: { 'text/event-stream': { schema: { type: 'string' } } } } }, { errors: [429] }),
    },
  }, async (request, reply) => {
    const query = request.query as { types?: string; positions?: string };
    const types = (query.types ?? '').split(',').map((t) => t.trim()).filter((t) => t !== '');
    const problems = types.map(subscriptionPatternError).filter((p): p is string => p !== null);
    if (problems.length > 0) throw new ApiError('invalid_request', `types: ${problems.join('; ')}`);
    if (live.full(request.tenantId)) {
      throw new ApiError('rate_limited', `this tenant has ${live.maxClientsPerTenant} live streams open, its limit; close one first`, 5);
    }
    reply.hijack();
    live.open(request.tenantId, reply.raw, { types, positions: query.positions !== 'false' }, hashKey(keyFromHeaders(request.headers) ?? ''));
  });
}
