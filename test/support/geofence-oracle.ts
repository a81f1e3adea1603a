import type pg from 'pg';
import { importGeofences } from '../../src/geofences/geofence-import.js';
import { geofenceStore } from '../../src/store/geofence-store.js';
import { loadFeatureCollection, type DriveFix } from './recorded-drive.js';
import { setup, type TestEnv } from './setup.js';

/** An event as the events table holds it. */
export interface StoredEvent {
  id: string;
  type: string;
  device_id: string;
  occurred_at: Date;
  data: Record<string, unknown>;
}

/** Creates the PostGIS extension in the test database; false when PostGIS is not installed (scripts/services.sh --with-postgis). */
export async function enablePostgis(db: pg.Pool): Promise<boolean> {
  const available = await db.query(`SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'`);
  if (available.rowCount !== 1) return false;
  await db.query('CREATE EXTENSION IF NOT EXISTS postgis');
  return true;
}

/** A test world with PostGIS beside it, where it is installed. */
export async function postgisWorld(): Promise<{ world: TestEnv; postgis: boolean }> {
  const world = await setup();
  return { world, postgis: await enablePostgis(world.db) };
}

/**
 * PostGIS as the geometry oracle: the tenant's geofences as PostGIS geometries, in a table of
 * their own. False when PostGIS is not installed.
 */
export async function prepareOracle(db: pg.Pool, tenant: string): Promise<boolean> {
  if (!(await enablePostgis(db))) return false;
  await db.query('CREATE TABLE oracle_neighbourhoods (name text, geom geometry)');
  await db.query(`INSERT INTO oracle_neighbourhoods
    SELECT feature->'properties'->>'name', ST_SetSRID(ST_GeomFromGeoJSON(feature->'geometry'), 4326) FROM geofences WHERE tenant_id = $1`, [tenant]);
  return true;
}

/** The enter/leave sequence PostGIS gives for a drive: ST_Covers per fix in fix-time order, then transitions. */
export async function oracleTransitions(db: pg.Pool, drive: readonly DriveFix[]): Promise<string[]> {
  const sorted = [...drive].sort((a, b) => a.ts - b.ts);
  const covering = await db.query<{ i: number; names: string[] | null }>(
    `SELECT p.i, array_agg(n.name ORDER BY n.name) FILTER (WHERE n.name IS NOT NULL) AS names
       FROM unnest($1::float8[], $2::float8[]) WITH ORDINALITY AS p(lon, lat, i)
       LEFT JOIN oracle_neighbourhoods n ON ST_Covers(n.geom, ST_SetSRID(ST_MakePoint(p.lon, p.lat), 4326))
      GROUP BY p.i ORDER BY p.i`,
    [sorted.map((f) => f.lon), sorted.map((f) => f.lat)],
  );
  const transitions: string[] = [];
  let inside = new Set<string>();
  covering.rows.forEach((row, i) => {
    const now = new Set(row.names ?? []);
    const ts = new Date((sorted[i] as DriveFix).ts).toISOString();
    for (const name of [...inside].sort()) if (!now.has(name)) transitions.push(`${ts} leave ${name}`);
    for (const name of [...now].sort()) if (!inside.has(name)) transitions.push(`${ts} enter ${name}`);
    inside = now;
  });
  return transitions;
}

/** The enter/leave events as `<time> enter|leave <name>`, in the order the oracle lists them. */
export function transitionsOf(stored: readonly StoredEvent[]): string[] {
  return stored
    .filter((e) => e.type === 'geofence.enter' || e.type === 'geofence.leave')
    .map((e) => `${e.occurred_at.toISOString()} ${e.type.slice(9)} ${e.data.geofence_name}`)
    .sort((a, b) => (a.slice(0, 24) === b.slice(0, 24) ? (a.includes(' leave ') ? -1 : 1) : a < b ? -1 : 1));
}

/**
 * A test world whose tenant `sf` has San Francisco's neighbourhoods (fixtures/) as geofences,
 * with PostGIS beside them as the oracle where it is installed.
 */
export async function sfNeighbourhoodsWorld(overrides: Record<string, string> = {}): Promise<{ world: TestEnv; postgis: boolean }> {
  const world = await setup(overrides);
  const result = await importGeofences(geofenceStore(world.db), 'sf', loadFeatureCollection('sf-neighborhoods.geojson'), { limits: world.config.quotas.geofences, geometry: null });
  if (result.errors.length > 0) throw new Error(`the neighbourhoods did not import: ${JSON.stringify(result.errors.slice(0, 3))}`);
  return { world, postgis: await prepareOracle(world.db, 'sf') };
}
