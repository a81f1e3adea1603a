import { readFile } from 'node:fs/promises';
import type { FastifyInstance } from 'fastify';
import { ApiError } from '../api-error.js';

/** Where `npm run build` puts the map: the page, its bundle (MapLibre GL JS inside) and styles. */
const MAP_DIR = new URL('../../../dist/map/', import.meta.url);

// A Map, not an object literal: `/map/__proto__` must be a file that is not there.
const FILES = new Map([
  ['index.html', 'text/html; charset=utf-8'],
  ['map.js', 'text/javascript; charset=utf-8'],
  ['map.css', 'text/css; charset=utf-8'],
  ['maplibre-gl.css', 'text/css; charset=utf-8'],
]);

/**
 * The page's content security policy: its own script only, MapLibre's workers (made from blob:
 * URLs), and the tile server's origin when there is one; no frames, plugins or other origins.
 * MapLibre sets styles through the DOM, which `style-src 'self'` would refuse as inline.
 */
export function mapContentSecurityPolicy(tileUrl: string | null): string {
  const tiles = tileUrl === null ? '' : ` ${new URL(tileUrl).origin}`;
  return [
    "default-src 'self'", "script-src 'self'", 'worker-src blob:', 'child-src blob:', `img-src 'self' data: blob:${tiles}`,
    `connect-src 'self'${tiles}`, "style-src 'self' 'unsafe-inline'", "object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'",
  ].join('; ');
}

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
  const policy = mapContentSecurityPolicy(tileUrl);
  app.addHook('onSend', async (request, reply) => {
    if (request.url !== '/map' && !request.url.startsWith('/map/')) return;
    void reply.header('x-content-type-options', 'nosniff').header('content-security-policy', policy);
  });

  app.get('/map', { schema: { ...hidden } }, async (_request, reply) => reply.type(FILES.get('index.html') as string).send(await asset('index.html')));
  app.get('/map/config.json', { schema: { ...hidden } }, async () => ({ tile_url: tileUrl }));
  app.get('/map/:file', { schema: { ...hidden, params: { type: 'object', properties: { file: { type: 'string', maxLength: 100 } } } } }, async (request, reply) => {
    const { file } = request.params as { file: string };
    const type = FILES.get(file);
    if (type === undefined || file === 'index.html') throw new ApiError('not_found', `no file ${file} in the map`);
    return reply.type(type).header('cache-control', 'public, max-age=300').send(await asset(file));
  });
}
