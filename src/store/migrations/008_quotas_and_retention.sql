-- Positions per geofence, so that a tenant's total (a quota) is one sum, not a parse of every
-- stored feature.
ALTER TABLE geofences ADD COLUMN vertices integer NOT NULL DEFAULT 0;
UPDATE geofences SET vertices = CASE feature->'geometry'->>'type'
  WHEN 'Polygon' THEN (SELECT coalesce(sum(jsonb_array_length(r)), 0) FROM jsonb_array_elements(feature->'geometry'->'coordinates') r)
  WHEN 'MultiPolygon' THEN (SELECT coalesce(sum(jsonb_array_length(r)), 0)
                              FROM jsonb_array_elements(feature->'geometry'->'coordinates') p, jsonb_array_elements(p) r)
  ELSE 1 END;

-- Retention deletes by age across tenants.
CREATE INDEX events_occurred ON events (occurred_at) WHERE published_at IS NOT NULL;
CREATE INDEX webhook_deliveries_completed ON webhook_deliveries (completed_at) WHERE status <> 'pending';
CREATE INDEX inbound_events_received ON inbound_events (received_at);
-- Replays per delivery per hour (a quota), and the foreign key's check when deliveries are deleted.
CREATE INDEX webhook_deliveries_replay_of ON webhook_deliveries (replay_of, created_at) WHERE replay_of IS NOT NULL;
