-- Events other products send to POST /api/integration/webhook, kept as an audit log.
CREATE TABLE inbound_events (
  id          bigserial   PRIMARY KEY,
  tenant_id   text        NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now(),
  body        jsonb       NOT NULL
);
CREATE INDEX inbound_events_tenant_received ON inbound_events (tenant_id, received_at);
