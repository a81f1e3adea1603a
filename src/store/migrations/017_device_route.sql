-- Each device's route (PUT /v1/devices/{id}/route), as its partition's owner applied it in stream
-- order, written with the latest position: shown on the device. Null: no route.
ALTER TABLE devices ADD COLUMN route_id text;
