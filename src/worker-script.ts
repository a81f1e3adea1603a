import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * A worker thread running the module `name` that sits beside the module at `besideUrl` (its
 * import.meta.url). Built, that is a .js file; run from source (tests, under tsx), the worker
 * registers tsx's loader in its own thread first, then imports the TypeScript.
 */
export function startWorker(besideUrl: string, name: string, options: WorkerOptions = {}): Worker {
  if (!besideUrl.endsWith('.ts')) return new Worker(new URL(`./${name}.js`, besideUrl), options);
  const source = JSON.stringify(new URL(`./${name}.ts`, besideUrl).href);
  return new Worker(`import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${source}); });`, { ...options, eval: true });
}
