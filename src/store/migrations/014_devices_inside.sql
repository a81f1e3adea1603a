-- The geofences each device's rule state has it inside, as JSON text ({"<geofence id>": <epoch ms
-- entered>}), written with the latest position: the API's live queries (who is inside a geofence
-- now, occupancy) load it once and then follow the processors' announcements on the bus.
ALTER TABLE devices ADD COLUMN inside text NOT NULL DEFAULT '{}';
