-- A work item's first response, kept on the item (docs/KPIS.md defines
-- it): the earliest comment by someone other than the requester, or
-- status change out of `new`, from the department's system, at or after
-- the item was opened. The KPI statement then reads one index range of
-- items instead of aggregating a quarter's activities (3,000,000 rows at
-- an organisation's size: about 2 s a call).
--
-- Triggers keep it true whoever writes: the sync's page writes, the hub's
-- progress notes, an admin's SQL. They recompute, never increment, so a
-- replaced or deleted activity is as right as a new one.

ALTER TABLE work_items ADD COLUMN first_response_at TIMESTAMPTZ;

CREATE FUNCTION work_item_first_response(item BIGINT, opened TIMESTAMPTZ, requester TEXT)
RETURNS TIMESTAMPTZ LANGUAGE sql STABLE AS $$
    SELECT MIN(a.occurred_at) FROM activities a
    WHERE a.work_item_id = item AND a.occurred_at >= opened
      AND a.source_system <> 'switchboard'
      AND ((a.kind = 'comment' AND a.author_ref IS NOT NULL)
           OR (a.kind = 'status_change' AND a.to_status IS NOT NULL AND a.to_status <> 'new'))
      AND (a.kind <> 'comment' OR requester IS NULL OR a.author_ref <> requester)
$$;

UPDATE work_items w
SET first_response_at = work_item_first_response(w.id, w.opened_at, w.requester_ref)
WHERE w.opened_at IS NOT NULL
  AND EXISTS (SELECT 1 FROM activities a WHERE a.work_item_id = w.id);

-- A statement's activities at once (transition tables): a page of a sync
-- recomputes each of its items once, not once per activity.
CREATE FUNCTION activities_refresh_first_response() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE work_items w
    SET first_response_at = work_item_first_response(w.id, w.opened_at, w.requester_ref)
    WHERE w.id IN (SELECT DISTINCT work_item_id FROM changed_activities)
      AND w.first_response_at IS DISTINCT FROM
          work_item_first_response(w.id, w.opened_at, w.requester_ref);
    RETURN NULL;
END
$$;

CREATE TRIGGER activities_inserted_first_response AFTER INSERT ON activities
    REFERENCING NEW TABLE AS changed_activities
    FOR EACH STATEMENT EXECUTE FUNCTION activities_refresh_first_response();
CREATE TRIGGER activities_updated_first_response AFTER UPDATE ON activities
    REFERENCING NEW TABLE AS changed_activities
    FOR EACH STATEMENT EXECUTE FUNCTION activities_refresh_first_response();
-- An update that moves an activity to another item changes the old one's too.
CREATE TRIGGER activities_moved_first_response AFTER UPDATE ON activities
    REFERENCING OLD TABLE AS changed_activities
    FOR EACH STATEMENT EXECUTE FUNCTION activities_refresh_first_response();
CREATE TRIGGER activities_deleted_first_response AFTER DELETE ON activities
    REFERENCING OLD TABLE AS changed_activities
    FOR EACH STATEMENT EXECUTE FUNCTION activities_refresh_first_response();

-- The item's own part of the definition: when it opened, who asked.
CREATE FUNCTION work_items_refresh_first_response() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.first_response_at := work_item_first_response(NEW.id, NEW.opened_at, NEW.requester_ref);
    RETURN NEW;
END
$$;

CREATE TRIGGER work_items_first_response BEFORE UPDATE OF opened_at, requester_ref ON work_items
    FOR EACH ROW
    WHEN (OLD.opened_at IS DISTINCT FROM NEW.opened_at
          OR OLD.requester_ref IS DISTINCT FROM NEW.requester_ref)
    EXECUTE FUNCTION work_items_refresh_first_response();

CREATE INDEX work_items_first_response ON work_items (first_response_at);

-- An agent's list filtered by requester compares the reference exactly
-- (0011's index is for the employee's view, without regard to case).
CREATE INDEX work_items_requester_exact ON work_items (requester_ref);

-- The agent's list by kind, and the directory by department: without them
-- a rare value walks the whole primary key for a page (tests/explain.rs).
CREATE INDEX work_items_kind ON work_items (kind);
CREATE INDEX people_department ON people (department);
