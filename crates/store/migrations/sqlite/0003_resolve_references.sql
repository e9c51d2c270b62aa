-- References resolved by mapping lookups, per page: a work item's requester,
-- a person's manager and org unit, an org unit's parent. The *_ref columns
-- keep what the source said; these hold the canonical record it resolved to.
ALTER TABLE work_items ADD COLUMN requester_id BIGINT REFERENCES people (id) ON DELETE SET NULL;
ALTER TABLE people ADD COLUMN manager_id BIGINT REFERENCES people (id) ON DELETE SET NULL;
ALTER TABLE people ADD COLUMN org_unit_id BIGINT REFERENCES org_units (id) ON DELETE SET NULL;
ALTER TABLE org_units ADD COLUMN parent_id BIGINT REFERENCES org_units (id) ON DELETE SET NULL;

-- A placeholder stands in for a referenced record no system has sent yet;
-- the real record takes its place (and its references) when it arrives.
ALTER TABLE people ADD COLUMN placeholder BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE org_units ADD COLUMN placeholder BOOLEAN NOT NULL DEFAULT FALSE;

CREATE INDEX people_employee_number ON people (employee_number);
CREATE INDEX people_external_id ON people (source_system, external_id);
CREATE INDEX org_units_code ON org_units (code);
CREATE INDEX org_units_external_id ON org_units (source_system, external_id);
CREATE INDEX work_items_requester ON work_items (requester_id);
CREATE INDEX people_manager ON people (manager_id);
CREATE INDEX people_org_unit ON people (org_unit_id);
CREATE INDEX org_units_parent ON org_units (parent_id);
CREATE INDEX people_placeholders ON people (external_id) WHERE placeholder;
CREATE INDEX org_units_placeholders ON org_units (external_id) WHERE placeholder;
