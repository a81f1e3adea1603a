-- Webhook throttling (contract section 5): an endpoint with throttle_s gets at most one delivery
-- per device, event type and geofence (throttle_key) within that many seconds of event time; the
-- others are recorded as 'throttled', never attempted, and stay on EVENTS and in the events table.
ALTER TABLE webhook_endpoints ADD COLUMN throttle_s integer CHECK (throttle_s > 0);
ALTER TABLE webhook_deliveries ADD COLUMN throttle_key text;
ALTER TABLE webhook_deliveries ADD COLUMN occurred_at timestamptz;
ALTER TABLE webhook_deliveries DROP CONSTRAINT webhook_deliveries_status_check;
ALTER TABLE webhook_deliveries ADD CONSTRAINT webhook_deliveries_status_check CHECK (status IN ('pending', 'succeeded', 'failed', 'throttled'));
CREATE INDEX webhook_deliveries_throttle ON webhook_deliveries (endpoint_id, throttle_key, occurred_at) WHERE throttle_key IS NOT NULL AND status <> 'throttled';
