import { geofenceStore } from '../../src/store/geofence-store.js';
import { createApiKey, keyStore } from '../../src/store/key-store.js';
import { mkdirSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { notifyGeofencesChanged } from '../../src/bus/geofence-changes.js';
import { importGeofences } from '../../src/geofences/geofence-import.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { jsonBytes, setup, silentLog, waitFor, type TestEnv } from '../support/setup.js';

// The live map in Debian's Chromium (installed by scripts/services.sh --with-tools), driven by
// playwright-core: one tenant's key shows its geofences, its devices moving and its events.
let world: TestEnv;
let server: RunningServer;
let browser: Browser;
let base: string;
const keys: Record<string, string> = {};

const square = (lon: number, lat: number, size: number) => ({
  type: 'Polygon', coordinates: [[[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]],
});
const FENCES = {
  city: [
    { type: 'Feature', properties: { id: 'mission', name: 'Mission' }, geometry: square(-122.43, 37.75, 0.02) },
    { type: 'Feature', properties: { id: 'marina', name: 'Marina' }, geometry: square(-122.45, 37.79, 0.02) },
  ],
  other: [
    { type: 'Feature', properties: { id: 'harbour', name: 'Harbour' }, geometry: square(151.2, -33.87, 0.02) },
    { type: 'Feature', properties: { id: 'ferry', name: 'Ferry', width_m: 200 }, geometry: { type: 'LineString', coordinates: [[151.19, -33.86], [151.23, -33.84], [151.26, -33.83]] } },
  ],
};

beforeAll(async () => {
  world = await setup();
  server = await startServer(world.config, silentLog);
  base = `http://127.0.0.1:${server.httpPort}`;
  for (const [tenant, features] of Object.entries(FENCES)) {
    keys[tenant] = (await createApiKey(keyStore(world.db), tenant)).key;
    const result = await importGeofences(geofenceStore(world.db), tenant, { type: 'FeatureCollection', features }, { limits: world.config.quotas.geofences, geometry: null });
    expect(result.errors).toEqual([]);
    await notifyGeofencesChanged(world.nc, world.topology, tenant);
  }
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    // Software WebGL for MapLibre: no GPU here.
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--use-angle=swiftshader', '--enable-unsafe-swiftshader'],
  });
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  await world?.dispose();
});

/** Content security policy violations the pages reported: the map must need none. */
const violations: string[] = [];

async function openMap(tenant: string): Promise<Page> {
  const page = await (await browser.newContext({ viewport: { width: 1200, height: 800 } })).newPage();
  page.on('console', (msg) => {
    if (/Content Security Policy/i.test(msg.text())) violations.push(msg.text());
  });
  await page.goto(`${base}/map`);
  await page.fill('#key', keys[tenant] as string);
  await page.click('button[type=submit]');
  // Locators, not waitForFunction with a string: that polls by eval in the page, which the map's
  // content security policy refuses (as it should).
  await page.locator('#status', { hasText: /^Live/ }).waitFor({ timeout: 15_000 });
  return page;
}

// The page exposes its map and device table as window.fencewire (src/map/client.ts); these run
// in the page, written as expressions because the tests are compiled without the DOM's types.

/** Names of the geofences MapLibre has tiled from the map's source: what it draws. */
const drawnGeofences = (page: Page) =>
  page.evaluate<string[]>("[...new Set(window.fencewire.map.querySourceFeatures('geofences').map((f) => f.properties.name))].sort()");

/** Clicks the map at a longitude and latitude. */
async function clickAt(page: Page, lon: number, lat: number): Promise<void> {
  const [x, y] = await page.evaluate<number[]>(
    `(() => { const p = window.fencewire.map.project([${lon}, ${lat}]); const r = document.getElementById('map').getBoundingClientRect(); return [r.left + p.x, r.top + p.y]; })()`);
  await page.mouse.click(x as number, y as number);
}

const labelTexts = async (page: Page) => (await page.$$eval('.label', (labels) => labels.map((l) => l.textContent))).sort();

const devicePosition = (page: Page, device: string) =>
  page.evaluate<number[] | null>(`window.fencewire.devices.get(${JSON.stringify(device)})?.geometry.coordinates ?? null`);

describe('live map - /map in Chromium', () => {
  it('shows a tenant its geofences, moves its device into one and lists the geofence.enter within 2 s; another tenant sees neither', async () => {
    const city = await openMap('city');
    await waitFor('the geofences drawn', async () => (await drawnGeofences(city)).length === 2, 10_000);
    expect(await drawnGeofences(city)).toEqual(['Marina', 'Mission']);
    expect(await labelTexts(city)).toEqual(['Marina (0)', 'Mission (0)']);

    const now = Date.now();
    await world.publish('city', 'cab-7', jsonBytes({ ts: now - 2000, lat: 37.74, lon: -122.42, speed: 20 }));
    const entered = Date.now();
    await world.publish('city', 'cab-7', jsonBytes({ ts: now - 1000, lat: 37.76, lon: -122.42, speed: 20 }));
    await city.waitForSelector('#events li[data-type="geofence.enter"]', { timeout: 2000 });
    const seenAfterMs = Date.now() - entered;
    expect(seenAfterMs).toBeLessThan(2000);
    expect(await city.textContent('#events li[data-type="geofence.enter"]')).toMatch(/geofence\.enter cab-7 Mission/);
    await waitFor('the device moved', async () => JSON.stringify(await devicePosition(city, 'cab-7')) === '[-122.42,37.76]', 2000);
    expect(await labelTexts(city)).toEqual(['Marina (0)', 'Mission (1)']);

    // A click on Mission lists the devices inside it now; a click elsewhere, the nearest devices.
    await waitFor('the API to have cab-7 inside Mission', async () => {
      const answer = await fetch(`${base}/v1/geofences/mission/devices`, { headers: { 'x-integration-key': keys.city as string } });
      return ((await answer.json()) as { count: number }).count === 1;
    }, 5000);
    await clickAt(city, -122.415, 37.755);
    await city.locator('#selection-title', { hasText: 'Inside Mission: 1' }).waitFor({ timeout: 5000 });
    expect(await city.textContent('#selection-list li[data-device="cab-7"]')).toMatch(/^cab-7 for \d+ (s|min)$/);
    await clickAt(city, -122.44, 37.78);
    await city.locator('#selection-title', { hasText: /^Nearest to 37\.7[78]\d\d, -122\.4[34]/ }).waitFor({ timeout: 5000 });
    // cab-7 at (37.76, -122.42) is about 2.8 km away.
    expect(await city.textContent('#selection-list li[data-device="cab-7"]')).toMatch(/^cab-7 2\.\d\d km$/);
    mkdirSync('.local', { recursive: true });
    await city.screenshot({ path: '.local/map.png' });


    const other = await openMap('other');
    await waitFor('its geofences drawn', async () => (await drawnGeofences(other)).length === 2, 10_000);
    expect(await drawnGeofences(other)).toEqual(['Ferry', 'Harbour']);
    expect(await labelTexts(other)).toEqual(['Ferry (0)', 'Harbour (0)']);
    // The corridor is drawn as a band 200 m wide (its layer's width, in pixels at this zoom).
    const band = await other.evaluate<{ names: string[]; widthPx: number; expectedPx: number }>(`(() => {
      const map = window.fencewire.map;
      const rendered = map.queryRenderedFeatures({ layers: ['geofence-corridor'] });
      const metresPerPixel = 40075016.686 / 512 / 2 ** map.getZoom() * Math.cos(-33.845 * Math.PI / 180);
      const px0 = rendered[0]?.properties.px0 ?? 0;
      return { names: [...new Set(rendered.map((f) => f.properties.name))], widthPx: px0 * 2 ** map.getZoom(), expectedPx: 200 / metresPerPixel };
    })()`);
    expect(band.names).toEqual(['Ferry']);
    expect(band.widthPx).toBeCloseTo(band.expectedPx, 0);
    await other.screenshot({ path: '.local/map-corridor.png' });
    await world.publish('city', 'cab-7', jsonBytes({ ts: now, lat: 37.765, lon: -122.425, speed: 20 }));
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(await devicePosition(other, 'cab-7')).toBeNull();
    expect(await other.$$('#events li')).toHaveLength(0);
  });

  it('works under its content security policy, sent with nosniff on every file, and has no file named __proto__', async () => {
    const page = await fetch(`${base}/map`);
    expect(page.headers.get('content-security-policy')).toMatch(/^default-src 'self'; script-src 'self'; worker-src blob:/);
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    expect((await fetch(`${base}/map/map.js`)).headers.get('x-content-type-options')).toBe('nosniff');
    const proto = await fetch(`${base}/map/__proto__`);
    expect(proto.status).toBe(404);
    expect(violations).toEqual([]);
  });

  it('refuses an unknown key and says so', async () => {
    const page = await (await browser.newContext()).newPage();
    await page.goto(`${base}/map`);
    await page.fill('#key', 'fw_not_a_key');
    await page.click('button[type=submit]');
    await page.locator('#status.error').waitFor({ timeout: 10_000 });
    expect(await page.textContent('#status')).toMatch(/the key was refused/);
  });
});
