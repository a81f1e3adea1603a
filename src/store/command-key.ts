import type pg from 'pg';
import { FencewireError } from '../errors.js';

/** The key that signs commands to the processors (migration 012 made it). */
export async function loadCommandKey(db: pg.Pool): Promise<string> {
  const { rows } = await db.query<{ secret: string }>("SELECT secret FROM fencewire_keys WHERE name = 'command'");
  const key = rows[0]?.secret;
  if (key === undefined) throw new FencewireError('not_migrated', 'the database holds no command key: run fencewire migrate');
  return key;
}
