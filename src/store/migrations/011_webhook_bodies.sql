-- An event's webhook body is kept once, whatever the number of endpoints it goes to: one inbound
-- event of 64 KiB to 100 endpoints was 100 copies of it. A delivery's own `body` is kept only
-- where it is its own (a test event); otherwise it is the body of its event_id here.
CREATE TABLE webhook_bodies (
  event_id   text        PRIMARY KEY,
  body       text        NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE webhook_deliveries ALTER COLUMN body DROP NOT NULL;
-- Retention looks up whether any delivery still needs a body.
CREATE INDEX webhook_deliveries_event ON webhook_deliveries (event_id);

-- The size of each inbound body as received, for the per-tenant byte quota.
ALTER TABLE inbound_events ADD COLUMN bytes integer NOT NULL DEFAULT 0;
