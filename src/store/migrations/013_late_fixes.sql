-- Late fixes corrected (src/core/late-fixes.ts). `late`: the event was derived by a correction
-- (the envelope says so, and a republish must say it again). `retracted_by`: the id of the
-- event.retracted that withdrew it; GET /v1/events leaves such events out unless asked.
ALTER TABLE events ADD COLUMN late boolean NOT NULL DEFAULT false;
ALTER TABLE events ADD COLUMN retracted_by text;
-- The state before the oldest fix of a device's late-fix history, checkpointed with its state:
-- a new owner rebuilds the history from it and the positions stored after it.
ALTER TABLE device_state ADD COLUMN history_base text;
