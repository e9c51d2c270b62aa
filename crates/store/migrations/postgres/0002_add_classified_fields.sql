-- Which fields of a record carry a confidentiality class, as {field: class},
-- so routing can leave them out of messages to audiences not cleared for it.
ALTER TABLE work_items ADD COLUMN classified JSONB NOT NULL DEFAULT '{}';
ALTER TABLE people ADD COLUMN classified JSONB NOT NULL DEFAULT '{}';
