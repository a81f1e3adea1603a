import SwaggerParser from '@apidevtools/swagger-parser';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.js';
import { buildApp } from '../../../src/http/app.js';
import { createMetrics } from '../../../src/metrics.js';

describe('OpenAPI document', () => {
  it('validates with @apidevtools/swagger-parser, an independent validator', async () => {
    // Serving /docs/json touches neither the database nor NATS.
    const app = buildApp({
      version: '0.1.0', metrics: createMetrics(), store: {} as never, log: pino({ level: 'silent' }),
      health: { nats: async () => true, database: async () => true }, geofencesChanged: async () => undefined,
      webhookAllowPrivate: false, geometry: null, quotas: loadConfig({}).quotas, bus: {} as never, live: { stop: () => undefined } as never, liveDevices: {} as never, startBacktest: () => ({}) as never, mapTileUrl: null,
    });
    try {
      const document = (await app.inject({ method: 'GET', url: '/docs/json' })).json<{ openapi: string; paths: Record<string, unknown> }>();
      expect(document.openapi).toBe('3.1.0');
      expect(Object.keys(document.paths).length).toBeGreaterThan(15);
      await expect(SwaggerParser.validate(structuredClone(document) as never)).resolves.toBeDefined();
    } finally {
      await app.close();
    }
  });
});
