-- Webhook endpoints, deliveries and attempts (contract section 5).
CREATE TABLE webhook_endpoints (
  id          text        PRIMARY KEY,
  tenant_id   text        NOT NULL,
  url         text        NOT NULL,
  -- Event types, `*`, or prefixes such as `geofence.*`.
  events      text[]      NOT NULL,
  secret      text        NOT NULL,
  headers     jsonb       NOT NULL DEFAULT '{}',
  enabled     boolean     NOT NULL DEFAULT true,
  description text,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_endpoints_tenant ON webhook_endpoints (tenant_id) WHERE enabled;

-- One event to one endpoint. `body` holds the exact bytes sent. A replay is a new delivery
-- (`replay_of`), so only first deliveries are unique per event and endpoint: that uniqueness is
-- what makes a redelivered EVENTS message create nothing new.
CREATE TABLE webhook_deliveries (
  id              text        PRIMARY KEY,
  endpoint_id     text        NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
  tenant_id       text        NOT NULL,
  event_id        text        NOT NULL,
  event_type      text        NOT NULL,
  body            text        NOT NULL,
  status          text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'succeeded', 'failed')),
  attempts        integer     NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  -- A worker that holds the delivery in memory; another may take it once the lease is over.
  lease_until     timestamptz,
  replay_of       text        REFERENCES webhook_deliveries (id) ON DELETE SET NULL,
  created_at      timestamptz NOT NULL DEFAULT now(),
  completed_at    timestamptz
);
CREATE UNIQUE INDEX webhook_deliveries_first ON webhook_deliveries (endpoint_id, event_id) WHERE replay_of IS NULL;
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, created_at);

CREATE TABLE webhook_attempts (
  delivery_id   text        NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
  attempt       integer     NOT NULL,
  started_at    timestamptz NOT NULL,
  status_code   integer,
  latency_ms    integer     NOT NULL,
  error         text,
  -- The first KiB of the answer.
  response_body text,
  PRIMARY KEY (delivery_id, attempt)
);
