import type pg from 'pg';
import { inTransaction, quoteIdentifier } from './database.js';
import { isHypertable } from './migrate.js';

const DAY_MS = 24 * 60 * 60 * 1000;
const PARTITION_NAME = /^positions_p(\d{4})(\d{2})(\d{2})$/;

export interface StoragePolicy {
  readonly retentionDays: number;
  readonly partitionAheadDays: number;
  readonly compressAfterDays: number;
  readonly eventsRetentionDays: number;
  readonly deliveriesRetentionDays: number;
  readonly inboundRetentionDays: number;
  readonly chunkIntervalHours: number;
}

/** Rows deleted by retention, per table. */
export interface RetentionReport {
  readonly events: number;
  readonly webhookDeliveries: number;
  readonly webhookBodies: number;
  readonly inboundEvents: number;
}

export interface PolicyReport {
  readonly mode: 'timescaledb' | 'partitions';
  /** Daily partitions created, or (TimescaleDB) the policies and settings created or changed. */
  readonly created: string[];
  readonly dropped: string[];
  readonly deleted: RetentionReport;
}

/** Rows one retention statement deletes: short statements, so that writers never wait long on them. */
const RETENTION_BATCH = 10_000;

/** Deletes the rows `where` selects (`$1` is the cutoff), a batch at a time; returns how many. */
async function deleteOlder(pool: pg.Pool, table: string, where: string, cutoffMs: number): Promise<number> {
  let deleted = 0;
  for (;;) {
    const result = await pool.query(
      `DELETE FROM ${table} WHERE ctid = ANY(ARRAY(SELECT ctid FROM ${table} WHERE ${where} LIMIT ${RETENTION_BATCH}))`, [new Date(cutoffMs).toISOString()],
    );
    deleted += result.rowCount ?? 0;
    if ((result.rowCount ?? 0) < RETENTION_BATCH) return deleted;
  }
}

/**
 * Retention of the tables that grow with traffic besides positions: published events (at or
 * below their partition's publish watermark), finished
 * webhook deliveries (their attempts go with them) and the bodies no delivery needs, and inbound events. An event not yet
 * published and a delivery still pending are never deleted, whatever their age.
 */
async function applyTableRetention(pool: pg.Pool, nowMs: number, policy: StoragePolicy): Promise<RetentionReport> {
  const cutoff = (days: number) => nowMs - days * DAY_MS;
  return {
    events: await deleteOlder(pool, 'events', `occurred_at < $1 AND NOT EXISTS (
      SELECT 1 FROM ingest_partitions p WHERE p.id = events.lane AND events.source_seq > p.published_seq)`, cutoff(policy.eventsRetentionDays)),
    webhookDeliveries: await deleteOlder(pool, 'webhook_deliveries', "status <> 'pending' AND completed_at < $1", cutoff(policy.deliveriesRetentionDays)),
    // A body goes once no delivery of its event is left (replays and retries read it).
    webhookBodies: await deleteOlder(pool, 'webhook_bodies', `created_at < $1 AND NOT EXISTS (
      SELECT 1 FROM webhook_deliveries d WHERE d.event_id = webhook_bodies.event_id)`, cutoff(policy.deliveriesRetentionDays)),
    inboundEvents: await deleteOlder(pool, 'inbound_events', 'received_at < $1', cutoff(policy.inboundRetentionDays)),
  };
}

function dayStart(ms: number): number {
  return Math.floor(ms / DAY_MS) * DAY_MS;
}

/** `positions_p20261122` for the UTC day that starts at `startMs`. */
export function partitionName(startMs: number): string {
  return `positions_p${new Date(startMs).toISOString().slice(0, 10).replaceAll('-', '')}`;
}

/** The UTC day a partition name covers, or null for names that are not daily partitions. */
export function partitionDay(name: string): number | null {
  const match = PARTITION_NAME.exec(name);
  return match ? Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])) : null;
}

/**
 * The daily partitions that should exist at `nowMs` (yesterday through `aheadDays` ahead) and
 * those of `existing` that are past retention. Pure, so that the calendar logic is unit-tested.
 */
export function planPartitions(existing: string[], nowMs: number, policy: Pick<StoragePolicy, 'retentionDays' | 'partitionAheadDays'>): { create: number[]; drop: string[] } {
  const have = new Set(existing);
  const today = dayStart(nowMs);
  const create: number[] = [];
  for (let day = today - DAY_MS; day <= today + policy.partitionAheadDays * DAY_MS; day += DAY_MS) {
    if (!have.has(partitionName(day))) create.push(day);
  }
  const cutoff = today - policy.retentionDays * DAY_MS;
  const drop = existing.filter((name) => {
    const day = partitionDay(name);
    return day !== null && day + DAY_MS <= cutoff;
  });
  return { create, drop };
}

async function createPartition(pool: pg.Pool, startMs: number): Promise<string> {
  const name = partitionName(startMs);
  const from = new Date(startMs).toISOString();
  const to = new Date(startMs + DAY_MS).toISOString();
  // Late fixes for this day may already sit in the default partition, which would make a plain
  // CREATE ... PARTITION OF fail: move them into the new table, then attach it.
  await inTransaction(pool, async (client) => {
    await client.query(`CREATE TABLE ${quoteIdentifier(name)} (LIKE positions INCLUDING DEFAULTS INCLUDING CONSTRAINTS)`);
    await client.query(
      `WITH moved AS (DELETE FROM positions_default WHERE ts >= $1 AND ts < $2 RETURNING *)
       INSERT INTO ${quoteIdentifier(name)} SELECT * FROM moved`,
      [from, to],
    );
    await client.query(`ALTER TABLE positions ATTACH PARTITION ${quoteIdentifier(name)} FOR VALUES FROM ('${from}') TO ('${to}')`);
  });
  return name;
}

async function applyPartitionPolicy(pool: pg.Pool, nowMs: number, policy: StoragePolicy): Promise<Omit<PolicyReport, 'deleted'>> {
  const existing = (
    await pool.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_inherits i
         JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
        WHERE p.relname = 'positions' AND p.relnamespace = 'public'::regnamespace`,
    )
  ).rows.map((r) => r.name);
  const plan = planPartitions(existing, nowMs, policy);
  const created: string[] = [];
  for (const day of plan.create) created.push(await createPartition(pool, day));
  for (const name of plan.drop) await pool.query(`DROP TABLE ${quoteIdentifier(name)}`);
  const cutoff = new Date(dayStart(nowMs) - policy.retentionDays * DAY_MS).toISOString();
  await pool.query('DELETE FROM positions_default WHERE ts < $1', [cutoff]);
  return { mode: 'partitions', created, dropped: plan.drop };
}

interface PolicyJob {
  readonly job_id: number;
  readonly proc_name: string;
  /** The job's interval setting (drop_after or compress_after), in seconds. */
  readonly seconds: number | null;
}

/** The positions policies of TimescaleDB's job scheduler, with the interval each is set to. */
async function positionJobs(pool: pg.Pool): Promise<PolicyJob[]> {
  const { rows } = await pool.query<PolicyJob>(
    `SELECT job_id, proc_name,
            extract(epoch FROM coalesce(config->>'drop_after', config->>'compress_after')::interval)::float8 AS seconds
       FROM timescaledb_information.jobs
      WHERE hypertable_schema = 'public' AND hypertable_name = 'positions' AND proc_name IN ('policy_retention', 'policy_compression')`,
  );
  return rows;
}

/**
 * One policy: added when missing, its interval changed in place (alter_job keeps the job, its id,
 * schedule and history) when it differs, left alone otherwise. Returns what it did, or null.
 */
async function ensurePolicy(pool: pg.Pool, jobs: PolicyJob[], proc: 'policy_retention' | 'policy_compression', days: number): Promise<string | null> {
  const [key, add] = proc === 'policy_retention' ? ['drop_after', 'add_retention_policy'] : ['compress_after', 'add_compression_policy'];
  const job = jobs.find((j) => j.proc_name === proc);
  if (job === undefined) {
    await pool.query(`SELECT ${add}('positions', make_interval(days => $1), if_not_exists => true)`, [days]);
    return `${proc} added (${days} days)`;
  }
  if (job.seconds === days * 86_400) return null;
  await pool.query(
    `SELECT alter_job(job_id, config => jsonb_set(config, $2::text[], to_jsonb(make_interval(days => $3)::text)))
       FROM timescaledb_information.jobs WHERE job_id = $1`,
    [job.job_id, [key], days],
  );
  return `${proc} ${key} changed to ${days} days (job ${job.job_id})`;
}

/** The chunk interval of new chunks (existing ones keep theirs), changed only when it differs. */
async function ensureChunkInterval(pool: pg.Pool, hours: number): Promise<string | null> {
  const { rows } = await pool.query<{ seconds: number }>(
    `SELECT extract(epoch FROM time_interval)::float8 AS seconds FROM timescaledb_information.dimensions
      WHERE hypertable_schema = 'public' AND hypertable_name = 'positions' AND column_name = 'ts'`,
  );
  if (rows[0]?.seconds === hours * 3600) return null;
  await pool.query(`SELECT set_chunk_time_interval('positions', make_interval(hours => $1))`, [hours]);
  return `chunk interval set to ${hours} hours`;
}

/**
 * Compression and retention of positions, created once and changed only when a setting
 * changed: removing and adding them anew would give the jobs new ids, drop their history and
 * run them at once, every time this runs (every migrate, every start, every hour).
 */
async function applyTimescalePolicy(pool: pg.Pool, policy: StoragePolicy): Promise<Omit<PolicyReport, 'deleted'>> {
  const jobs = await positionJobs(pool);
  const changes = [
    await ensurePolicy(pool, jobs, 'policy_retention', policy.retentionDays),
    await ensurePolicy(pool, jobs, 'policy_compression', policy.compressAfterDays),
    await ensureChunkInterval(pool, policy.chunkIntervalHours),
  ];
  return { mode: 'timescaledb', created: changes.filter((c): c is string => c !== null), dropped: [] };
}

/** The last run of one TimescaleDB job on positions (timescaledb_information.job_stats). */
export interface TimescaleJobStat {
  readonly jobId: number;
  readonly proc: string;
  /** 'Success', 'Failed', or null before its first run. */
  readonly lastRunStatus: string | null;
  readonly totalFailures: number;
  readonly lastSuccessfulFinish: Date | null;
}

/** The positions jobs' run statistics; empty where positions is not a hypertable. */
export async function timescaleJobStats(pool: pg.Pool): Promise<TimescaleJobStat[]> {
  if (!(await isHypertable(pool))) return [];
  const { rows } = await pool.query<{ job_id: number; proc_name: string; last_run_status: string | null; total_failures: string; last_successful_finish: Date | null }>(
    `SELECT j.job_id, j.proc_name, s.last_run_status, s.total_failures, s.last_successful_finish
       FROM timescaledb_information.jobs j JOIN timescaledb_information.job_stats s ON s.job_id = j.job_id
      WHERE j.hypertable_schema = 'public' AND j.hypertable_name = 'positions'`,
  );
  return rows.map((r) => ({
    jobId: r.job_id, proc: r.proc_name, lastRunStatus: r.last_run_status, totalFailures: Number(r.total_failures), lastSuccessfulFinish: r.last_successful_finish,
  }));
}

/**
 * Applies retention (and, with TimescaleDB, compression) to `positions`, and retention to the
 * events, delivery and inbound tables; idempotent. Runs at
 * `migrate` and periodically while ingesting, so that partitions always exist ahead of time.
 */
export async function applyStoragePolicy(pool: pg.Pool, policy: StoragePolicy, nowMs = Date.now()): Promise<PolicyReport> {
  const positions = (await isHypertable(pool)) ? await applyTimescalePolicy(pool, policy) : await applyPartitionPolicy(pool, nowMs, policy);
  return { ...positions, deleted: await applyTableRetention(pool, nowMs, policy) };
}
