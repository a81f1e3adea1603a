import { createApiKey, keyStore } from '../src/store/key-store.js';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { GeometryThread } from '../src/geofences/geometry-thread.js';
import { buildApp } from '../src/http/app.js';
import { apiDeps, setup } from '../test/support/setup.js';
import { adversarialShapes } from './adversarial-shapes.js';
import { machineLine } from './machine.js';

/**
 * Event-loop lag while large geofences are imported through the API: validation on the geometry
 * thread (as `serve` does) against the same validation on the event loop (the baseline), in one
 * run. A health request is timed alongside each import.
 */
const world = await setup();
const key = (await createApiKey(keyStore(world.db), 'bench')).key;
const shapes = adversarialShapes([99_000]).filter((s) => s.valid);

async function run(label: string, geometry: GeometryThread | null): Promise<void> {
  const app = buildApp(apiDeps(world, { version: 'bench', geometry }));
  await app.ready();
  for (const shape of shapes) {
    const lag = monitorEventLoopDelay({ resolution: 5 });
    lag.enable();
    const started = performance.now();
    let healthMs = 0;
    const health = (async () => {
      await new Promise((resolve) => setTimeout(resolve, 20));
      const t = performance.now();
      await app.inject({ method: 'GET', url: '/api/integration/health' });
      healthMs = performance.now() - t;
    })();
    const answer = await app.inject({
      method: 'POST', url: '/v1/geofences', headers: { 'x-integration-key': key },
      payload: { type: 'Feature', properties: { name: shape.name }, geometry: { type: 'Polygon', coordinates: [shape.ring] } },
    });
    await health;
    lag.disable();
    console.log(`${label.padEnd(22)} ${shape.name.padEnd(22)} ${answer.statusCode} in ${(performance.now() - started).toFixed(0).padStart(5)} ms; event-loop lag max ${(lag.max / 1e6).toFixed(0).padStart(4)} ms, p99 ${(lag.percentile(99) / 1e6).toFixed(0).padStart(4)} ms; health answered in ${healthMs.toFixed(0)} ms`);
  }
  await world.db.query('DELETE FROM geofences');
  await app.close();
}

console.log(machineLine());
const geometry = new GeometryThread();
await run('geometry thread', geometry);
await run('baseline: event loop', null);
await geometry.close();
await world.dispose();
