-- Who may read an activity: `public` (the requester too: a reply, a
-- customer-visible comment) or `internal` (the department only: a work
-- note). Internal unless the mapping says otherwise, so nothing a source
-- did not mark public ever reaches an employee's view.
ALTER TABLE activities ADD COLUMN visibility TEXT NOT NULL DEFAULT 'internal'
    CHECK (visibility IN ('public', 'internal'));
