-- Tenants and their rule overrides (src/core/rule-config.ts lists the keys and defaults).
CREATE TABLE tenants (
  id         text        PRIMARY KEY,
  rules      jsonb       NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now()
);

-- Geofences as the GeoJSON Features they were given (contract section 4).
CREATE TABLE geofences (
  tenant_id  text        NOT NULL,
  id         text        NOT NULL,
  name       text        NOT NULL,
  feature    jsonb       NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id)
);

-- What the rules remember per device, written in the transaction of the batch that changed it,
-- so that a restart neither repeats nor forgets an event.
CREATE TABLE device_state (
  tenant_id  text        NOT NULL,
  device_id  text        NOT NULL,
  state      jsonb       NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, device_id)
) WITH (fillfactor = 50);

-- Derived events: the record behind GET /v1/events and the outbox of the publisher. An event is
-- committed with the fixes that caused it; published_at is set once JetStream has it.
CREATE TABLE events (
  seq          bigserial   NOT NULL,
  id           text        PRIMARY KEY,
  tenant_id    text        NOT NULL,
  device_id    text        NOT NULL,
  type         text        NOT NULL,
  occurred_at  timestamptz NOT NULL,
  data         jsonb       NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  published_at timestamptz
);
CREATE INDEX events_unpublished ON events (seq) WHERE published_at IS NULL;
CREATE INDEX events_tenant_occurred ON events (tenant_id, occurred_at);
CREATE INDEX events_tenant_device_occurred ON events (tenant_id, device_id, occurred_at);
