-- Integration keys (contract section 6): one tenant each, stored only as a SHA-256 hash.
CREATE TABLE api_keys (
  id         text        PRIMARY KEY,
  tenant_id  text        NOT NULL,
  key_hash   text        NOT NULL UNIQUE,
  created_at timestamptz NOT NULL DEFAULT now(),
  revoked_at timestamptz
);
