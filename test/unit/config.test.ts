import { describe, expect, it } from 'vitest';
import { defaultIngestWorkers, loadConfig } from '../../src/config.js';
import { ConfigError } from '../../src/errors.js';

describe('config - environment, then defaults, validated and frozen', () => {
  it('uses the documented defaults', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      natsUrl: 'nats://127.0.0.1:4222',
      databaseUrl: 'postgres://127.0.0.1:5432/fencewire',
      httpPort: 8080,
      logLevel: 'info',
      webhooks: { allowPrivate: false, timeoutMs: 10_000, retry: { maxAttempts: 4, baseDelayMs: 60_000, factor: 5, maxDelayMs: 21_600_000 } },
      namespace: '',
    });
    expect(Object.isFrozen(config.ingest)).toBe(true);
  });

  it('runs a quarter of the cores as ingest workers by default, at least one', () => {
    expect([1, 2, 4, 7, 8, 16, 64].map(defaultIngestWorkers)).toEqual([1, 1, 1, 1, 2, 4, 16]);
  });

  it('reads values from the environment', () => {
    const config = loadConfig({ HTTP_PORT: '9090', WEBHOOK_ALLOW_PRIVATE: 'true', INGEST_BATCH_SIZE: '500', FENCEWIRE_NAMESPACE: 't1' });
    expect(config.httpPort).toBe(9090);
    expect(config.webhooks.allowPrivate).toBe(true);
    expect(config.ingest.batchSize).toBe(500);
    expect(config.namespace).toBe('t1');
  });

  it.each([
    ['HTTP_PORT', 'eighty', /HTTP_PORT: "eighty" is not a whole number/],
    ['HTTP_PORT', '70000', /HTTP_PORT: 70000 is out of range \[0, 65535\]/],
    ['NATS_URL', 'localhost:4222', /NATS_URL: "localhost:4222" must use nats: or tls:/],
    ['DATABASE_URL', 'not a url', /DATABASE_URL: "not a url" is not a URL/],
    ['LOG_LEVEL', 'loud', /LOG_LEVEL: "loud" is not one of/],
    ['WEBHOOK_ALLOW_PRIVATE', 'yes', /WEBHOOK_ALLOW_PRIVATE: "yes" is not a boolean/],
    ['WEBHOOK_MAX_ATTEMPTS', '0', /WEBHOOK_MAX_ATTEMPTS: 0 is out of range \[1, 50\]/],
    ['INGEST_BATCH_SIZE', '0', /INGEST_BATCH_SIZE: 0 is out of range/],
    ['FENCEWIRE_NAMESPACE', 'Has.Dots', /FENCEWIRE_NAMESPACE: "Has.Dots" must match/],
  ])('refuses %s=%s, naming the key', (key, value, message) => {
    expect(() => loadConfig({ [key]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [key]: value })).toThrow(message);
  });

  it.each([
    ['DATABASE_URL', 'mysql://fw:s3cret@db:3306/x', 'DATABASE_URL: "mysql://fw:***@db:3306/x" must use postgres: or postgresql:'],
    ['NATS_URL', 'http://fencewire:s3cret@nats:4222', 'NATS_URL: "http://fencewire:***@nats:4222" must use nats: or tls:'],
    ['DATABASE_URL', 'postgres://fw:s3cret@db:bad/x', 'DATABASE_URL: "postgres://fw:***@db:bad/x" is not a URL'],
  ])('never echoes the password of %s', (key, value, message) => {
    expect(() => loadConfig({ [key]: value })).toThrow(message);
    expect(() => loadConfig({ [key]: value })).not.toThrow(/s3cret/);
  });
});
