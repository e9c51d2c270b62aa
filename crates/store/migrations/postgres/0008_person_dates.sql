-- A person's first and last working day, as HR has them: a future starter
-- is hired before they are active, and a leaving is announced when the end
-- date appears (docs/ROUTING.md, "When routing happens").
ALTER TABLE people ADD COLUMN start_date DATE;
ALTER TABLE people ADD COLUMN end_date DATE;

-- What routing last announced for the person that `active` cannot tell:
-- `starting` (hired, not active yet) or `leaving` (leaving announced, not
-- gone yet); NULL otherwise. Written by routing in the page's transaction,
-- so a hire or a leaving fires once.
ALTER TABLE people ADD COLUMN lifecycle TEXT CHECK (lifecycle IN ('starting', 'leaving'));

-- The merged profile shows the dates too, under the same rule as the other
-- fields: an owner's value stands, else the most recently synced one.
DROP VIEW person_profiles;
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
         LIMIT 1) AS active,
       (SELECT p.start_date FROM people p
         WHERE p.identity = i.identity AND NOT p.placeholder
           AND (p.start_date IS NOT NULL OR p.source_system IN (SELECT system FROM field_owners WHERE entity = 'person' AND field = 'start_date'))
         ORDER BY CASE WHEN p.source_system IN (SELECT system FROM field_owners WHERE entity = 'person' AND field = 'start_date') THEN 0 ELSE 1 END,
                  p.synced_at DESC, p.id DESC
         LIMIT 1) AS start_date,
       (SELECT p.end_date FROM people p
         WHERE p.identity = i.identity AND NOT p.placeholder
           AND (p.end_date IS NOT NULL OR p.source_system IN (SELECT system FROM field_owners WHERE entity = 'person' AND field = 'end_date'))
         ORDER BY CASE WHEN p.source_system IN (SELECT system FROM field_owners WHERE entity = 'person' AND field = 'end_date') THEN 0 ELSE 1 END,
                  p.synced_at DESC, p.id DESC
         LIMIT 1) AS end_date
FROM (SELECT DISTINCT identity FROM people WHERE NOT placeholder) i;
