// Builds the live map (served at /map): the page script bundled with MapLibre GL JS by esbuild,
// and the page, its styles and MapLibre's into dist/map/.
import { copyFileSync, mkdirSync } from 'node:fs';
import { build } from 'esbuild';

const out = 'dist/map';
mkdirSync(out, { recursive: true });
await build({ entryPoints: ['src/map/client.ts'], bundle: true, format: 'esm', target: 'es2022', minify: true, sourcemap: false, outfile: `${out}/map.js`, logLevel: 'warning' });
for (const [from, to] of [['src/map/index.html', 'index.html'], ['src/map/map.css', 'map.css'], ['node_modules/maplibre-gl/dist/maplibre-gl.css', 'maplibre-gl.css']]) {
  copyFileSync(from, `${out}/${to}`);
}
