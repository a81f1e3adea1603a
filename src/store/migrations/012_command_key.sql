-- Secrets fencewire keeps for itself. `command`: the key that signs commands sent down a device's
-- telemetry subject (src/core/command-signature.ts), so that a device cannot forge one. Made here
-- from two random UUIDs (PostgreSQL's strong random source), hashed to 64 hex characters.
CREATE TABLE fencewire_keys (
  name       text        PRIMARY KEY,
  secret     text        NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO fencewire_keys (name, secret)
VALUES ('command', encode(sha256(convert_to(gen_random_uuid()::text || gen_random_uuid()::text, 'UTF8')), 'hex'));
