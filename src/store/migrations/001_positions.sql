-- Positions, contract section 2. A TimescaleDB hypertable when the extension can be loaded,
-- otherwise a table range-partitioned on ts (daily partitions are created ahead and dropped past
-- retention by storage-policies.ts; the default partition takes fixes older than the oldest one).
DO $$
DECLARE
  timescale boolean := EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb')
    AND current_setting('shared_preload_libraries') LIKE '%timescaledb%';
BEGIN
  IF timescale THEN
    CREATE EXTENSION IF NOT EXISTS timescaledb;
  END IF;

  -- A hypertable must start as a plain table; the fallback is declaratively partitioned.
  EXECUTE format($table$
    CREATE TABLE positions (
      tenant_id   text             NOT NULL,
      device_id   text             NOT NULL,
      ts          timestamptz      NOT NULL,
      lat         double precision NOT NULL,
      lon         double precision NOT NULL,
      speed       real,
      heading     real,
      altitude    real,
      accuracy    real,
      satellites  smallint,
      ignition    boolean,
      odometer    double precision,
      attributes  jsonb,
      received_at timestamptz      NOT NULL DEFAULT now(),
      CONSTRAINT positions_tenant_device_ts_key UNIQUE (tenant_id, device_id, ts)
    ) %s
  $table$, CASE WHEN timescale THEN '' ELSE 'PARTITION BY RANGE (ts)' END);

  IF timescale THEN
    PERFORM create_hypertable('positions', 'ts', chunk_time_interval => INTERVAL '1 day');
    -- Segment by device so that a compressed chunk still answers one device's history quickly.
    ALTER TABLE positions SET (
      timescaledb.compress,
      timescaledb.compress_segmentby = 'tenant_id, device_id',
      timescaledb.compress_orderby = 'ts DESC'
    );
  ELSE
    CREATE TABLE positions_default PARTITION OF positions DEFAULT;
  END IF;
END
$$;
