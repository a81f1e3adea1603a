-- Events of a whole tenant (positions.batch, an inbound DVIR naming no device) have no device.
ALTER TABLE events ALTER COLUMN device_id DROP NOT NULL;
