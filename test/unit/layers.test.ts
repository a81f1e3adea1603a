import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = fileURLToPath(new URL('../../src/', import.meta.url));

/**
 * The layers of src/, lowest first (docs/architecture.md): a module imports only from its own
 * folder, from a lower layer, or from the shared helpers. Folders of one layer do not import
 * from each other: what two of them share belongs below them.
 */
const LAYERS: readonly (readonly string[])[] = [
  ['core'],
  ['decode'],
  ['store', 'bus'],
  ['events', 'geofences', 'webhooks', 'simulate', 'backtest'],
  ['pipeline'],
  ['ingest'],
  ['http', 'map'],
  ['config.ts'],
  ['server.ts'],
  ['cli'],
  ['main.ts'],
];
/** Helpers every layer may use: errors, retries, time limits, metrics, the logger. */
const SHARED = new Set(['errors.ts', 'retry.ts', 'single-flight.ts', 'coalescing-writer.ts', 'timeout.ts', 'metrics.ts', 'log.ts', 'version.ts', 'unhandled-rejections.ts', 'worker-script.ts']);

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? tsFiles(path) : entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** The top folder (or top-level file) of a path under src/. */
function home(path: string): string {
  return relative(SRC, path).split(sep)[0] as string;
}

function layerOf(path: string): number | 'shared' {
  const top = home(path);
  if (SHARED.has(top)) return 'shared';
  const layer = LAYERS.findIndex((names) => names.includes(top));
  if (layer < 0) throw new Error(`${top} is in no layer: add it to LAYERS`);
  return layer;
}

describe('the layers of src/', () => {
  it('has no import running back up a layer, or across between folders of one layer', () => {
    const wrong: string[] = [];
    for (const file of tsFiles(SRC)) {
      const from = layerOf(file);
      for (const [, target] of readFileSync(file, 'utf8').matchAll(/from '(\.{1,2}\/[^']+)'/g)) {
        const imported = normalize(join(dirname(file), (target as string).replace(/\.js$/, '.ts')));
        const to = layerOf(imported);
        if (to === 'shared' || home(imported) === home(file)) continue;
        if (from === 'shared' || to >= from) wrong.push(`${relative(SRC, file)} imports ${relative(SRC, imported)}`);
      }
    }
    expect(wrong).toEqual([]);
  });
});
