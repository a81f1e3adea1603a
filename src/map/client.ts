// The live map's page script, bundled with MapLibre GL JS by `npm run build` (esbuild) into
// dist/map/map.js. It reads one tenant's geofences and devices through the API, then follows
// GET /v1/stream: devices move as their positions arrive, events are listed as they happen.
import maplibregl, { type FilterSpecification, type GeoJSONSource, type StyleSpecification } from 'maplibre-gl';
import { all, api } from './api.js';
import { SelectionPanel, type Get } from './selection.js';

interface Envelope {
  id: string;
  type: string;
  device_id: string | null;
  occurred_at: string;
  data: Record<string, unknown>;
}

interface Position {
  device_id: string;
  ts: string;
  lat: number;
  lon: number;
  speed: number | null;
}

interface Feature {
  type: 'Feature';
  geometry: { type: string; coordinates: unknown };
  properties: Record<string, unknown>;
}

const MAX_LISTED = 200;
const KEY_STORAGE = 'fencewire-key';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const status = $<HTMLParagraphElement>('status');
const counts = $<HTMLParagraphElement>('counts');
const list = $<HTMLOListElement>('events');
const filter = $<HTMLSelectElement>('type-filter');

const devices = new Map<string, Feature>();
const labels: maplibregl.Marker[] = [];
/** Each geofence's label and name, and how many devices the rules have inside it. */
const occupancy = new Map<string, { element: HTMLElement; name: string; inside: number }>();
let currentKey: string | null = null;
const events: Envelope[] = [];
let geofenceCount = 0;
let stream: AbortController | null = null;

function say(text: string, error = false): void {
  status.textContent = text;
  status.className = error ? 'error' : '';
}

/** Metres per pixel at zoom 0 on the equator, for MapLibre's 512-pixel tiles. */
const METRES_PER_PIXEL_Z0 = 40_075_016.686 / 512;

/**
 * A Point geofence is a circle of radius_m: drawn as a 64-gon, as the processor tests it. A
 * corridor is drawn as its line, as wide as width_m at its middle latitude: `px0`, its width in
 * pixels at zoom 0, doubles with each zoom level (the corridor layer's line-width).
 */
function drawable(feature: Feature): Feature {
  const radius = feature.properties.radius_m;
  const width = feature.properties.width_m;
  if ((feature.geometry.type === 'LineString' || feature.geometry.type === 'MultiLineString') && typeof width === 'number') {
    const lines = (feature.geometry.type === 'LineString' ? [feature.geometry.coordinates] : feature.geometry.coordinates) as number[][][];
    const lats = lines.flat().map((position) => position[1] as number);
    const middle = (Math.min(...lats) + Math.max(...lats)) / 2;
    return { ...feature, properties: { ...feature.properties, px0: width / (METRES_PER_PIXEL_Z0 * Math.cos((middle * Math.PI) / 180)) } };
  }
  if (feature.geometry.type !== 'Point' || typeof radius !== 'number') return feature;
  const [lon, lat] = feature.geometry.coordinates as [number, number];
  const ring: [number, number][] = [];
  for (let i = 0; i <= 64; i++) {
    const angle = (i / 64) * 2 * Math.PI;
    ring.push([lon + (radius / (111_320 * Math.cos((lat * Math.PI) / 180))) * Math.cos(angle), lat + (radius / 111_320) * Math.sin(angle)]);
  }
  return { ...feature, geometry: { type: 'Polygon', coordinates: [ring] } };
}

function style(tileUrl: string | null): StyleSpecification {
  return {
    version: 8,
    sources: tileUrl === null ? {} : { tiles: { type: 'raster', tiles: [tileUrl], tileSize: 256, attribution: 'Map tiles: see MAP_TILE_URL' } },
    layers: [{ id: 'background', type: 'background', paint: { 'background-color': '#eef1f4' } }, ...(tileUrl === null ? [] : [{ id: 'tiles', type: 'raster' as const, source: 'tiles' }])],
  };
}

type Collection = Parameters<GeoJSONSource['setData']>[0];

function collection(features: Iterable<Feature>): Collection {
  return { type: 'FeatureCollection', features: [...features] } as Collection;
}

function showDevices(map: maplibregl.Map): void {
  (map.getSource('devices') as GeoJSONSource | undefined)?.setData(collection(devices.values()));
  counts.textContent = `${geofenceCount} geofences, ${devices.size} devices, ${events.length} events`;
}

function move(map: maplibregl.Map, p: Position): void {
  devices.set(p.device_id, { type: 'Feature', geometry: { type: 'Point', coordinates: [p.lon, p.lat] }, properties: { id: p.device_id, ts: p.ts, speed: p.speed } });
}

function renderEvents(): void {
  const wanted = filter.value;
  list.replaceChildren(...events.filter((e) => wanted === '' || e.type === wanted).slice(0, MAX_LISTED).map((e) => {
    const item = document.createElement('li');
    const time = document.createElement('time');
    time.dateTime = e.occurred_at;
    time.textContent = e.occurred_at.slice(11, 19);
    const type = document.createElement('span');
    type.className = `type ${e.type.split('.')[1] ?? ''}`;
    type.textContent = e.type;
    const where = typeof e.data.geofence_name === 'string' ? ` ${e.data.geofence_name}` : '';
    item.append(time, type, ` ${e.device_id ?? ''}${where}`);
    item.dataset.type = e.type;
    return item;
  }));
}

function labelText(name: string, inside: number): string {
  return `${name} (${inside})`;
}

/** An enter or leave moves the geofence's occupancy in its label. */
function countOccupancy(e: Envelope): void {
  const step = e.type === 'geofence.enter' ? 1 : e.type === 'geofence.leave' ? -1 : 0;
  const label = step === 0 ? undefined : occupancy.get(String(e.data.geofence_id));
  if (label === undefined) return;
  label.inside = Math.max(0, label.inside + step);
  label.element.textContent = labelText(label.name, label.inside);
}

function addEvent(e: Envelope): void {
  countOccupancy(e);
  events.unshift(e);
  if (events.length > MAX_LISTED * 5) events.length = MAX_LISTED * 5;
  if (![...filter.options].some((o) => o.value === e.type)) filter.append(new Option(e.type, e.type));
  renderEvents();
}

/** Reads the server-sent events of GET /v1/stream (fetch, so that the key goes in a header). */
async function follow(map: maplibregl.Map, key: string, signal: AbortSignal): Promise<void> {
  const response = await fetch('/v1/stream', { headers: { 'x-integration-key': key }, signal });
  if (!response.ok || response.body === null) throw new Error(`the live stream answered ${response.status}`);
  say('Live: devices move as their positions arrive.');
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  let pending = false;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) throw new Error('the live stream ended');
    buffer += value;
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const frame = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const type = /^event: (.*)$/m.exec(frame)?.[1];
      const data = /^data: (.*)$/m.exec(frame)?.[1];
      if (data === undefined) continue;
      if (type === 'position') move(map, JSON.parse(data) as Position);
      else if (type === 'event') addEvent(JSON.parse(data) as Envelope);
      if (!pending) {
        pending = true;
        requestAnimationFrame(() => {
          pending = false;
          showDevices(map);
        });
      }
    }
  }
}

/** Every [lon, lat] of a geometry's coordinates. */
function positions(coordinates: unknown, into: [number, number][] = []): [number, number][] {
  if (Array.isArray(coordinates) && typeof coordinates[0] === 'number') into.push(coordinates as [number, number]);
  else if (Array.isArray(coordinates)) for (const c of coordinates) positions(c, into);
  return into;
}

/**
 * Geofence names and occupancy as HTML labels at the middle of each one's extent: MapLibre's
 * own text needs glyphs from a server, and the map works without the internet.
 */
function showLabels(map: maplibregl.Map, fences: Feature[]): void {
  for (const label of labels.splice(0)) label.remove();
  occupancy.clear();
  for (const fence of fences) {
    const name = fence.properties.name ?? fence.properties.id;
    const points = positions(fence.geometry.coordinates);
    if (typeof name !== 'string' || points.length === 0) continue;
    const box = new maplibregl.LngLatBounds();
    for (const p of points) box.extend(p);
    const element = document.createElement('div');
    element.className = 'label';
    const inside = typeof fence.properties.occupancy === 'number' ? fence.properties.occupancy : 0;
    element.textContent = labelText(name, inside);
    occupancy.set(String(fence.properties.id), { element, name, inside });
    labels.push(new maplibregl.Marker({ element }).setLngLat(box.getCenter()).addTo(map));
  }
}

async function show(map: maplibregl.Map, key: string): Promise<void> {
  stream?.abort();
  devices.clear();
  events.length = 0;
  renderEvents();
  say('Loading...');
  const [fences, vehicles] = await Promise.all([
    all<Feature & { occupancy?: number }>(key, '/v1/geofences', 'occupancy=true'),
    api<{ results: { id: string; last_position: { ts: string; lat: number; lon: number; speed: number | null } }[] }>(key, '/api/integration/vehicles'),
  ]);
  geofenceCount = fences.length;
  currentKey = key;
  // The occupancy rides on the Feature; the label reads it from the properties.
  const drawn = fences.map(({ occupancy: inside, ...fence }) => drawable({ ...fence, properties: { ...fence.properties, occupancy: inside ?? 0 } }));
  (map.getSource('geofences') as GeoJSONSource).setData(collection(drawn));
  showLabels(map, drawn);
  for (const v of vehicles.results) move(map, { device_id: v.id, ...v.last_position });
  showDevices(map);
  const bounds = new maplibregl.LngLatBounds();
  for (const f of [...drawn, ...devices.values()]) for (const p of positions(f.geometry.coordinates)) bounds.extend(p);
  if (!bounds.isEmpty()) map.fitBounds(bounds, { padding: 40, animate: false });
  stream = new AbortController();
  const signal = stream.signal;
  void follow(map, key, signal).catch((err: Error) => {
    if (!signal.aborted) say(`${err.message}; reload to reconnect`, true);
  });
}

async function start(): Promise<void> {
  const config = (await (await fetch('/map/config.json')).json()) as { tile_url: string | null };
  const map = new maplibregl.Map({ container: 'map', style: style(config.tile_url), center: [0, 20], zoom: 1.5, attributionControl: false });
  (window as unknown as { fencewire: unknown }).fencewire = { map, devices, events };
  await new Promise((resolve) => map.once('load', resolve));
  map.addSource('geofences', { type: 'geojson', data: collection([]) });
  map.addSource('devices', { type: 'geojson', data: collection([]) });
  const corridor: FilterSpecification = ['in', ['geometry-type'], ['literal', ['LineString', 'MultiLineString']]];
  map.addLayer({ id: 'geofence-fill', type: 'fill', source: 'geofences', filter: ['!', corridor], paint: { 'fill-color': '#2f6fb0', 'fill-opacity': 0.15 } });
  map.addLayer({ id: 'geofence-line', type: 'line', source: 'geofences', filter: ['!', corridor], paint: { 'line-color': '#2f6fb0', 'line-width': 1.5 } });
  map.addLayer({
    id: 'geofence-corridor', type: 'line', source: 'geofences', filter: corridor,
    layout: { 'line-cap': 'round', 'line-join': 'round' },
    paint: { 'line-color': '#2f6fb0', 'line-opacity': 0.35, 'line-width': ['interpolate', ['exponential', 2], ['zoom'], 0, ['get', 'px0'], 24, ['*', ['get', 'px0'], 2 ** 24]] },
  });
  map.addLayer({ id: 'devices', type: 'circle', source: 'devices', paint: { 'circle-radius': 6, 'circle-color': '#e8590c', 'circle-stroke-color': '#fff', 'circle-stroke-width': 2 } });
  filter.addEventListener('change', renderEvents);
  const selection = new SelectionPanel(map, $('selection'), $('selection-title'), $<HTMLOListElement>('selection-list'));
  selection.follow(() => (currentKey === null ? null : (<T>(path: string) => api<T>(currentKey as string, path)) as Get));
  const form = $<HTMLFormElement>('key-form');
  const input = $<HTMLInputElement>('key');
  const use = (key: string) => show(map, key).catch((err: Error) => say(err.message, true));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    sessionStorage.setItem(KEY_STORAGE, input.value.trim());
    void use(input.value.trim());
  });
  const saved = sessionStorage.getItem(KEY_STORAGE);
  if (saved !== null && saved !== '') void use(saved);
}

void start().catch((err: Error) => say(`the map could not start: ${err.message}`, true));
