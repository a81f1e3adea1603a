-- Device state is opaque to SQL: read back whole at start, never queried inside. Stored as
-- JSON text rather than jsonb it skips the binary conversion on every batch, which made the
-- state upsert the slowest statement of an ingest transaction.
ALTER TABLE device_state ALTER COLUMN state TYPE text USING state::text;
