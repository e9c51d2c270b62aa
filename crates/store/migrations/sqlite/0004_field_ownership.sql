-- Field ownership. Each system keeps its own row per person (what that
-- system says); a person's profile combines the rows of one identity, and
-- for a field some system owns (mapping `owns = [...]`) the owner's value
-- stands whenever the owner has a row, even an empty one. Other fields take
-- the most recently synced value.

-- Who a row is: `email:<lower-case email>`, else `employee:<number>`,
-- else the row's own source key. Written with the row.
ALTER TABLE people ADD COLUMN identity TEXT NOT NULL DEFAULT '';
UPDATE people SET identity = COALESCE('email:' || lower(email), 'employee:' || employee_number,
                                      source_system || '/' || source_stream || '/' || external_id);
CREATE INDEX people_identity ON people (identity);

-- Declared by the mappings; replaced whenever the catalog loads or reloads.
-- A person field has at most one owner (people merge across systems); a
-- work item or org unit field may be owned by several systems, each for its
-- own records, which no other system's flow may then change.
CREATE TABLE field_owners (
    entity     TEXT NOT NULL,
    field      TEXT NOT NULL,
    system     TEXT NOT NULL,
    updated_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (entity, field, system)
);

CREATE VIEW person_profiles AS
SELECT i.identity,
       (SELECT MIN(p.id) FROM people p WHERE p.identity = i.identity AND NOT p.placeholder) AS id,
       (SELECT p.display_name FROM people p
         WHERE p.identity = i.identity AND NOT p.placeholder
           AND (p.display_name IS NOT NULL OR p.source_system IN (SELECT system FROM field_owners WHERE entity = 'person' AND field = 'display_name'))
         ORDER BY CASE WHEN p.source_system IN (SELECT system FROM field_owners WHERE entity = 'person' AND field = 'display_name') THEN 0 ELSE 1 END,
                  p.synced_at DESC, p.id DESC
         LIMIT 1) AS display_name,
       (SELECT p.email FROM people p
         WHERE p.identity = i.identity AND NOT p.placeholder
           AND (p.email IS NOT NULL OR p.source_system IN (SELECT system FROM field_owners WHERE entity = 'person' AND field = 'email'))
         ORDER BY CASE WHEN p.source_system IN (SELECT system FROM field_owners WHERE entity = 'person' AND field = 'email') THEN 0 ELSE 1 END,
                  p.synced_at DESC, p.id DESC
         LIMIT 1) AS email,
       (SELECT p.employee_number FROM people p
         WHERE p.identity = i.identity AND NOT p.placeholder
           AND (p.employee_number IS NOT NULL OR p.source_system IN (SELECT system FROM field_owners WHERE entity = 'person' AND field = 'employee_number'))
         ORDER BY CASE WHEN p.source_system IN (SELECT system FROM field_owners WHERE entity = 'person' AND field = 'employee_number') THEN 0 ELSE 1 END,
                  p.synced_at DESC, p.id DESC
         LIMIT 1) AS employee_number,
       (SELECT p.department FROM people p
         WHERE p.identity = i.identity AND NOT p.placeholder
           AND (p.department IS NOT NULL OR p.source_system IN (SELECT system FROM field_owners WHERE entity = 'person' AND field = 'department'))
         ORDER BY CASE WHEN p.source_system IN (SELECT system FROM field_owners WHERE entity = 'person' AND field = 'department') THEN 0 ELSE 1 END,
                  p.synced_at DESC, p.id DESC
         LIMIT 1) AS department,
       (SELECT p.org_unit_ref FROM people p
         WHERE p.identity = i.identity AND NOT p.placeholder
           AND (p.org_unit_ref IS NOT NULL OR p.source_system IN (SELECT system FROM field_owners WHERE entity = 'person' AND field = 'org_unit'))
         ORDER BY CASE WHEN p.source_system IN (SELECT system FROM field_owners WHERE entity = 'person' AND field = 'org_unit') THEN 0 ELSE 1 END,
                  p.synced_at DESC, p.id DESC
         LIMIT 1) AS org_unit_ref,
       (SELECT p.org_unit_id FROM people p
         WHERE p.identity = i.identity AND NOT p.placeholder
           AND (p.org_unit_id IS NOT NULL OR p.source_system IN (SELECT system FROM field_owners WHERE entity = 'person' AND field = 'org_unit'))
         ORDER BY CASE WHEN p.source_system IN (SELECT system FROM field_owners WHERE entity = 'person' AND field = 'org_unit') THEN 0 ELSE 1 END,
                  p.synced_at DESC, p.id DESC
         LIMIT 1) AS org_unit_id,
       (SELECT p.location_ref FROM people p
         WHERE p.identity = i.identity AND NOT p.placeholder
           AND (p.location_ref IS NOT NULL OR p.source_system IN (SELECT system FROM field_owners WHERE entity = 'person' AND field = 'location'))
         ORDER BY CASE WHEN p.source_system IN (SELECT system FROM field_owners WHERE entity = 'person' AND field = 'location') THEN 0 ELSE 1 END,
                  p.synced_at DESC, p.id DESC
         LIMIT 1) AS location_ref,
       (SELECT p.manager_ref FROM people p
         WHERE p.identity = i.identity AND NOT p.placeholder
           AND (p.manager_ref IS NOT NULL OR p.source_system IN (SELECT system FROM field_owners WHERE entity = 'person' AND field = 'manager'))
         ORDER BY CASE WHEN p.source_system IN (SELECT system FROM field_owners WHERE entity = 'person' AND field = 'manager') THEN 0 ELSE 1 END,
                  p.synced_at DESC, p.id DESC
         LIMIT 1) AS manager_ref,
       (SELECT p.manager_id FROM people p
         WHERE p.identity = i.identity AND NOT p.placeholder
           AND (p.manager_id IS NOT NULL OR p.source_system IN (SELECT system FROM field_owners WHERE entity = 'person' AND field = 'manager'))
         ORDER BY CASE WHEN p.source_system IN (SELECT system FROM field_owners WHERE entity = 'person' AND field = 'manager') THEN 0 ELSE 1 END,
                  p.synced_at DESC, p.id DESC
         LIMIT 1) AS manager_id,
       (SELECT p.active FROM people p
         WHERE p.identity = i.identity AND NOT p.placeholder
           AND (p.active IS NOT NULL OR p.source_system IN (SELECT system FROM field_owners WHERE entity = 'person' AND field = 'active'))
         ORDER BY CASE WHEN p.source_system IN (SELECT system FROM field_owners WHERE entity = 'person' AND field = 'active') THEN 0 ELSE 1 END,
                  p.synced_at DESC, p.id DESC
         LIMIT 1) AS active
FROM (SELECT DISTINCT identity FROM people WHERE NOT placeholder) i;
