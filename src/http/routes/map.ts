import { readFile } from 'node:fs/promises';
import type { FastifyInstance } from 'fastify';
import { ApiError } from '../api-error.js';

/** Where `npm run build` puts the map: the page, its bundle (MapLibre GL JS inside) and styles. */
const MAP_DIR = new URL('../../../dist/map/', import.meta.url);

const FILES: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'map.js': 'text/javascript; charset=utf-8',
  'map.css': 'text/css; charset=utf-8',
  'maplibre-gl.css': 'text/css; charset=utf-8',
};

/**
 * `GET /map`: the live map, served by fencewire itself so that it works without the internet.
 * The page asks for an integration key and then reads the API and `GET /v1/stream` with it, so
 * it shows one tenant only. `tileUrl` (MAP_TILE_URL) is an optional raster background.
 */
export function mapRoutes(app: FastifyInstance, tileUrl: string | null): void {
  const cache = new Map<string, Buffer>();
  const asset = async (name: string): Promise<Buffer> => {
    let body = cache.get(name);
    if (body === undefined) {
      body = await readFile(new URL(name, MAP_DIR)).catch(() => {
        throw new ApiError('unavailable', 'the map is not built here: run npm run build');
      });
      cache.set(name, body);
    }
    return body;
  };
  const hidden = { hide: true };

  app.get('/map', { schema: { ...hidden } }, async (_request, reply) => reply.type(FILES['index.html'] as string).send(await asset('index.html')));
  app.get('/map/config.json', { schema: { ...hidden } }, async () => ({ tile_url: tileUrl }));
  app.get('/map/:file', { schema: { ...hidden, params: { type: 'object', properties: { file: { type: 'string', maxLength: 100 } } } } }, async (request, reply) => {
    const { file } = request.params as { file: string };
    const type = FILES[file];
    if (type === undefined || file === 'index.html') throw new ApiError('not_found', `no file ${file} in the map`);
    return reply.type(type).header('cache-control', 'public, max-age=300').send(await asset(file));
  });
}
