import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { setup, silentLog, type TestEnv } from '../support/setup.js';

// What an operator deploys, checked with the tools they would use (installed by
// `scripts/services.sh --with-tools`): Debian's docker-compose, Prometheus's promtool.
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const file = (path: string) => `${ROOT}${path}`;

function tool(name: string): string {
  const local = file(`.local/tools/usr/bin/${name}`);
  if (existsSync(local)) return local;
  return name;
}

/** The compose file needs fencewire's NATS password (docs/nats-security.md). */
const COMPOSE_ENV = { ...process.env, FENCEWIRE_NATS_PASSWORD: 'compose-check' };

function run(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): { status: number | null; output: string } {
  const result = spawnSync(command, args, { cwd: ROOT, encoding: 'utf8', env });
  return { status: result.status, output: `${result.stdout ?? ''}${result.stderr ?? ''}${result.error?.message ?? ''}` };
}

interface Dashboard {
  panels: { title: string; datasource: { uid: string }; targets: { expr: string }[] }[];
}

const dashboard = JSON.parse(readFileSync(file('docs/grafana/dashboards/fencewire.json'), 'utf8')) as Dashboard;
const alerts = parseYaml(readFileSync(file('docs/alerts.yml'), 'utf8')) as { groups: { rules: { alert: string; expr: string }[] }[] };

/** The fencewire_ metric names a PromQL expression reads, histogram series by their family. */
function metricNames(expr: string): string[] {
  return [...expr.matchAll(/\bfencewire_[a-z0-9_]+/g)].map((m) => m[0].replace(/_(bucket|sum|count)$/, ''));
}

describe('operations - compose, Prometheus and Grafana files validate with the tools operators use', () => {
  it('docker-compose config -q accepts docker-compose.yml, and every fencewire service runs the image the Dockerfile builds', () => {
    const checked = run('docker-compose', ['-f', 'docker-compose.yml', 'config', '-q'], COMPOSE_ENV);
    expect(checked.output).toBe('');
    expect(checked.status).toBe(0);
    const config = parseYaml(execFileSync('docker-compose', ['-f', 'docker-compose.yml', 'config'], { cwd: ROOT, encoding: 'utf8', env: COMPOSE_ENV })) as {
      services: Record<string, { image?: string; build?: unknown; command?: string[]; environment?: Record<string, string> }>;
    };
    const ours = Object.entries(config.services).filter(([, s]) => s.image === 'fencewire:local');
    expect(ours.map(([name]) => name).sort()).toEqual(['api', 'ingest-1', 'ingest-2', 'migrate', 'simulator', 'webhooks']);
    for (const [, service] of ours) {
      expect(service.build).toBeDefined();
      expect(service.environment).toMatchObject({ NATS_USER: 'fencewire', NATS_PASSWORD: 'compose-check' });
    }
    expect(config.services.nats?.environment).toMatchObject({ FENCEWIRE_NATS_PASSWORD: 'compose-check' });
    // Without the password compose refuses to start, naming it, rather than run NATS open.
    const { FENCEWIRE_NATS_PASSWORD: _unset, ...withoutPassword } = COMPOSE_ENV;
    const refused = run('docker-compose', ['-f', 'docker-compose.yml', 'config', '-q'], withoutPassword);
    expect(refused.status).not.toBe(0);
    expect(refused.output).toMatch(/FENCEWIRE_NATS_PASSWORD/);
    expect(config.services.timescaledb?.image).toMatch(/^timescale\/timescaledb:\d+\.\d+\.\d+-pg15$/);
  });

  it('the image ships production dependencies only, no type packages, and no source maps pointing at sources it lacks', () => {
    const pkg = JSON.parse(readFileSync(file('package.json'), 'utf8')) as { dependencies: Record<string, string> };
    expect(Object.keys(pkg.dependencies).filter((name) => name.startsWith('@types/'))).toEqual([]);
    const dockerfile = readFileSync(file('Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/RUN npm run build && find dist -name '\*\.map' -delete && npm prune --omit=dev/);
    // The final stage copies no sources: a map left behind would point at nothing.
    expect(dockerfile.split(/^FROM /m).at(-1)).not.toMatch(/\bsrc\b/);
  });

  it('promtool checks the Prometheus configuration and the alert rules', () => {
    const configCheck = run(tool('promtool'), ['check', 'config', 'docs/prometheus.yml']);
    expect(configCheck.output).toMatch(/SUCCESS: docs\/prometheus.yml is valid/);
    expect(configCheck.status).toBe(0);
    const rulesCheck = run(tool('promtool'), ['check', 'rules', 'docs/alerts.yml']);
    expect(rulesCheck.output).toMatch(/SUCCESS: \d+ rules found/);
    expect(rulesCheck.status).toBe(0);
  });

  it('the dashboard reads the provisioned data source and covers what on-call asks', () => {
    const datasources = parseYaml(readFileSync(file('docs/grafana/provisioning/datasources/prometheus.yml'), 'utf8')) as { datasources: { uid: string }[] };
    const uid = datasources.datasources[0]?.uid;
    expect(dashboard.panels.every((p) => p.datasource.uid === uid)).toBe(true);
    const used = new Set(dashboard.panels.flatMap((p) => p.targets.flatMap((t) => metricNames(t.expr))));
    for (const name of ['fencewire_consumer_pending', 'fencewire_event_latency_seconds', 'fencewire_write_duration_seconds', 'fencewire_outbox_backlog', 'fencewire_webhook_latency_seconds', 'fencewire_process_resident_memory_bytes', 'fencewire_nodejs_eventloop_lag_p99_seconds']) {
      expect(used).toContain(name);
    }
    const rules = alerts.groups.flatMap((g) => g.rules.map((r) => r.alert));
    for (const alert of ['FencewireIngestLagGrowing', 'FencewireDeadLetters', 'FencewireWebhookFailing', 'FencewireOutboxBacklog', 'FencewireProcessorDown', 'FencewireTimescaleJobFailed']) {
      expect(rules).toContain(alert);
    }
  });
});

describe('operations - every metric the dashboard and the alert rules read exists on /metrics', () => {
  let world: TestEnv;
  let full: RunningServer;
  let ingestOnly: RunningServer;

  beforeAll(async () => {
    world = await setup();
    full = await startServer(world.config, silentLog);
    ingestOnly = await startServer(world.config, silentLog, ['ingest']);
  });

  afterAll(async () => {
    await ingestOnly?.stop();
    await full?.stop();
    await world?.dispose();
  });

  it('names from the dashboard and the rules, against a running fencewire', async () => {
    const text = await (await fetch(`http://127.0.0.1:${full.httpPort}/metrics`)).text();
    const exported = new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]));
    const wanted = new Set([
      ...dashboard.panels.flatMap((p) => p.targets.flatMap((t) => metricNames(t.expr))),
      ...alerts.groups.flatMap((g) => g.rules.flatMap((r) => metricNames(r.expr))),
    ]);
    expect(wanted.size).toBeGreaterThan(15);
    expect([...wanted].filter((name) => !exported.has(name))).toEqual([]);
  });

  it('a process without the API role still answers health checks and Prometheus', async () => {
    const base = `http://127.0.0.1:${ingestOnly.httpPort}`;
    expect(ingestOnly.httpPort).not.toBe(full.httpPort);
    expect(await (await fetch(`${base}/api/integration/health`)).json()).toMatchObject({ status: 'ok', product: 'fencewire' });
    expect(await (await fetch(`${base}/metrics`)).text()).toMatch(/^# TYPE fencewire_partitions_owned gauge$/m);
    expect((await fetch(`${base}/v1/devices`)).status).toBe(404);
  });

  it('a second processor without the API on the same host and port still starts, without HTTP', async () => {
    const sameHost = loadConfig({ ...world.env, HTTP_PORT: String(ingestOnly.httpPort) });
    const second = await startServer(sameHost, silentLog, ['webhooks']);
    try {
      expect(second.httpPort).toBeNull();
    } finally {
      await second.stop();
    }
  });
});
