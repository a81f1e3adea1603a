-- Each device's tags (PUT /v1/devices/{id}/tags), as its partition's owner applied them in stream
-- order, written with the latest position: shown on the device, and the live queries' tag= filter.
ALTER TABLE devices ADD COLUMN tags text[] NOT NULL DEFAULT '{}';
