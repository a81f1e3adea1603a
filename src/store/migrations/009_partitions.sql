-- Telemetry is processed in partitions (docs/scaling.md), each owned by one processor at a time.
-- A row per partition of a partitioning (the partition count the NATS server maps to). `epoch`
-- fences: taking a partition increments it, and every commit of a batch checks it in its own
-- transaction, so a processor that lost its lease (paused, cut off) can commit nothing more.
-- The sequences are telemetry stream sequences: everything up to committed_seq is stored, the
-- events of everything up to published_seq are on EVENTS, and the partition's device states in
-- device_state are those after checkpoint_seq.
CREATE TABLE ingest_partitions (
  id             serial      PRIMARY KEY,
  partitions     integer     NOT NULL,
  partition      integer     NOT NULL,
  epoch          bigint      NOT NULL DEFAULT 0,
  owner          text,
  committed_seq  bigint      NOT NULL DEFAULT 0,
  published_seq  bigint      NOT NULL DEFAULT 0,
  checkpoint_seq bigint      NOT NULL DEFAULT 0,
  updated_at     timestamptz NOT NULL DEFAULT now(),
  UNIQUE (partitions, partition),
  CHECK (partition >= 0 AND partition < partitions)
);

-- Device states are checkpointed per partition (lane = ingest_partitions.id), no longer
-- rewritten by every batch; between checkpoints a new owner replays the stream.
ALTER TABLE device_state ADD COLUMN lane integer;
CREATE INDEX device_state_lane ON device_state (lane);

-- The events table stays the outbox, marked by a watermark per partition instead of an UPDATE
-- per event: an event is published once its partition's published_seq reaches source_seq, the
-- stream sequence of the message that completed its batch.
DROP INDEX events_unpublished;
DROP INDEX events_occurred;
ALTER TABLE events DROP COLUMN published_at;
ALTER TABLE events ADD COLUMN lane integer, ADD COLUMN source_seq bigint;
CREATE INDEX events_outbox ON events (lane, source_seq);
CREATE INDEX events_occurred ON events (occurred_at);
