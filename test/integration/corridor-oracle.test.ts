import geodesicLib from 'geographiclib-geodesic';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CorridorShape } from '../../src/core/geometry/corridor.js';
import { geofenceFromFeature, isGeofenceError } from '../../src/core/geometry/geofence.js';
import { GeofenceIndex } from '../../src/core/geometry/geofence-index.js';
import { seededRandom } from '../../src/simulate/random.js';
import { loadDrive } from '../support/recorded-drive.js';
import { postgisWorld } from '../support/geofence-oracle.js';
import type { TestEnv } from '../support/setup.js';

const { Geodesic } = geodesicLib;

let world: TestEnv;
let postgis = false;

beforeAll(async () => {
  ({ world, postgis } = await postgisWorld());
});

afterAll(async () => {
  await world?.dispose();
});

/** The GeoJSON of a line, as PostGIS reads it. */
const lineJson = (line: readonly (readonly number[])[]) => ({ type: 'LineString', coordinates: line });

interface Probe {
  readonly line: number;
  readonly lon: number;
  readonly lat: number;
}

/** PostGIS's answers for each probe: within half the line's width (geography, on the spheroid), and the distance. */
async function oracle(lines: readonly (readonly (readonly number[])[])[], halfWidths: readonly number[], probes: readonly Probe[]): Promise<{ within: boolean; distance: number }[]> {
  const result = await world.db.query<{ within: boolean; distance: number }>(
    `WITH line AS (SELECT (l.ordinality - 1)::int AS i, ST_GeomFromGeoJSON(l.value)::geography AS g, h.value::float8 AS half
                     FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS l
                     JOIN jsonb_array_elements_text($2::jsonb) WITH ORDINALITY AS h ON h.ordinality = l.ordinality),
          probe AS (SELECT p.ordinality AS n, (p.value->>'line')::int AS i,
                           ST_SetSRID(ST_MakePoint((p.value->>'lon')::float8, (p.value->>'lat')::float8), 4326)::geography AS g
                      FROM jsonb_array_elements($3::jsonb) WITH ORDINALITY AS p)
     SELECT ST_DWithin(line.g, probe.g, line.half) AS within, ST_Distance(line.g, probe.g) AS distance
       FROM probe JOIN line USING (i) ORDER BY probe.n`,
    [JSON.stringify(lines.map(lineJson)), JSON.stringify(halfWidths), JSON.stringify(probes)],
  );
  return result.rows;
}

/** The probes on which we and PostGIS disagree, leaving out those within 0.5 m of the edge (where the issue lets them). */
function disagreements(answers: { within: boolean; distance: number }[], ours: boolean[], halfWidths: readonly number[], probes: readonly Probe[]) {
  return probes.flatMap((probe, n) => {
    const theirs = answers[n] as { within: boolean; distance: number };
    const half = halfWidths[probe.line] as number;
    return theirs.within !== ours[n] && Math.abs(theirs.distance - half) >= 0.5 ? [{ ...probe, half, distance: theirs.distance, ours: ours[n] }] : [];
  });
}

describe('corridors against PostGIS (ST_DWithin on geography)', () => {
  it('agrees on random lines and points in six places, the antimeridian and the Arctic among them', async () => {
    expect(postgis, 'PostGIS must be installed (scripts/services.sh --with-postgis)').toBe(true);
    const random = seededRandom(20261203);
    const places = [[-122.42, 37.77], [11.56, 48.15], [151.2, -33.87], [18.95, 69.65], [179.99, -16.5], [-58.4, -34.6]] as const;
    const lines: (readonly number[])[][] = [];
    const halfWidths: number[] = [];
    const probes: Probe[] = [];
    for (let i = 0; i < 300; i++) {
      const [lon0, lat0] = places[i % places.length] as readonly [number, number];
      let at: [number, number] = [lon0 + (random() - 0.5) * 0.05, lat0 + (random() - 0.5) * 0.05];
      const line: (readonly number[])[] = [at];
      const vertices = 2 + Math.floor(random() * 5);
      for (let v = 1; v < vertices; v++) {
        const next = Geodesic.WGS84.Direct(at[1], at[0], random() * 360, 50 + random() * 5000);
        at = [next.lon2 as number, next.lat2 as number];
        line.push(at);
      }
      const half = (4 + random() * 400) / 2;
      lines.push(line);
      halfWidths.push(half);
      // Points near the line: from a random place along it, a random way, up to twice the half width.
      for (let p = 0; p < 30; p++) {
        const from = line[Math.floor(random() * line.length)] as number[];
        const moved = Geodesic.WGS84.Direct(from[1] as number, from[0] as number, random() * 360, random() * half * 2 + random() * 200);
        probes.push({ line: i, lon: moved.lon2 as number, lat: moved.lat2 as number });
      }
    }
    const shapes = lines.map((line, i) => new CorridorShape([line], (halfWidths[i] as number) * 2));
    const ours = probes.map((p) => (shapes[p.line] as CorridorShape).covers(p.lon, p.lat));
    const answers = await oracle(lines, halfWidths, probes);
    expect(disagreements(answers, ours, halfWidths, probes)).toEqual([]);
    // The test means something only if both answers occur often.
    expect(ours.filter(Boolean).length).toBeGreaterThan(probes.length / 4);
    expect(ours.filter((x) => !x).length).toBeGreaterThan(probes.length / 4);
    // And our distances are PostGIS's, to a few centimetres.
    const worst = Math.max(...probes.map((p, n) => Math.abs((shapes[p.line] as CorridorShape).nearest(p.lon, p.lat).distanceM - (answers[n] as { distance: number }).distance)));
    expect(worst).toBeLessThan(0.05);
  });

  it('agrees on the real Munich drive at 1 Hz against a 20 m corridor drawn along its 15 s recording, through the index', async () => {
    expect(postgis, 'PostGIS must be installed (scripts/services.sh --with-postgis)').toBe(true);
    const route = loadDrive('munich-car-15s.json').map((f) => [f.lon, f.lat]);
    const fixes = loadDrive('munich-car-1hz.json');
    const geofence = geofenceFromFeature('t', { type: 'Feature', properties: { id: 'route', width_m: 20 }, geometry: lineJson(route) }, 'route');
    if (isGeofenceError(geofence)) throw new Error(geofence.message);
    const index = new GeofenceIndex([geofence]);
    const probes = fixes.map((f) => ({ line: 0, lon: f.lon, lat: f.lat }));
    const ours = probes.map((p) => index.containing(p.lon, p.lat).length === 1);
    const answers = await oracle([route], [10], probes);
    expect(disagreements(answers, ours, [10], probes)).toEqual([]);
    // A 15 s line cuts corners of the 1 Hz drive: some fixes are outside it, most inside.
    expect(ours.filter((x) => !x).length).toBeGreaterThan(10);
    expect(ours.filter(Boolean).length).toBeGreaterThan(fixes.length / 2);
  });

  it('gives progress as ST_LineLocatePoint does in the UTM zone (32N), within 0.1% of the line', async () => {
    expect(postgis, 'PostGIS must be installed (scripts/services.sh --with-postgis)').toBe(true);
    const route = loadDrive('munich-car-15s.json').map((f) => [f.lon, f.lat]);
    const fixes = loadDrive('munich-car-1hz.json');
    const shape = new CorridorShape([route], 20);
    const { rows } = await world.db.query<{ progress: number }>(
      `SELECT ST_LineLocatePoint(ST_Transform(ST_SetSRID(ST_GeomFromGeoJSON($1), 4326), 32632),
                                 ST_Transform(ST_SetSRID(ST_MakePoint((p->>0)::float8, (p->>1)::float8), 4326), 32632)) AS progress
         FROM jsonb_array_elements($2::jsonb) WITH ORDINALITY AS q(p, n) ORDER BY n`,
      [JSON.stringify(lineJson(route)), JSON.stringify(fixes.map((f) => [f.lon, f.lat]))],
    );
    const off = fixes.flatMap((f, n) => {
      const ours = shape.nearest(f.lon, f.lat).progress;
      const theirs = (rows[n] as { progress: number }).progress;
      return Math.abs(ours - theirs) > 0.001 ? [{ n, ours, theirs }] : [];
    });
    expect(off).toEqual([]);
  });
});
