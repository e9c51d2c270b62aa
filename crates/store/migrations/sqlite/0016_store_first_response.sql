-- A work item's first response, kept on the item: see the PostgreSQL
-- migration of the same name for why. SQLite has row triggers only; each
-- recomputes the one item the activity belongs to.

ALTER TABLE work_items ADD COLUMN first_response_at TEXT;

UPDATE work_items SET first_response_at = (
    SELECT MIN(a.occurred_at) FROM activities a
    WHERE a.work_item_id = work_items.id AND a.occurred_at >= work_items.opened_at
      AND a.source_system <> 'switchboard'
      AND ((a.kind = 'comment' AND a.author_ref IS NOT NULL)
           OR (a.kind = 'status_change' AND a.to_status IS NOT NULL AND a.to_status <> 'new'))
      AND (a.kind <> 'comment' OR work_items.requester_ref IS NULL
           OR a.author_ref <> work_items.requester_ref))
WHERE opened_at IS NOT NULL;

CREATE TRIGGER activities_inserted_first_response AFTER INSERT ON activities BEGIN
    UPDATE work_items SET first_response_at = (
        SELECT MIN(a.occurred_at) FROM activities a
        WHERE a.work_item_id = work_items.id AND a.occurred_at >= work_items.opened_at
          AND a.source_system <> 'switchboard'
          AND ((a.kind = 'comment' AND a.author_ref IS NOT NULL)
               OR (a.kind = 'status_change' AND a.to_status IS NOT NULL AND a.to_status <> 'new'))
          AND (a.kind <> 'comment' OR work_items.requester_ref IS NULL
               OR a.author_ref <> work_items.requester_ref))
    WHERE id = NEW.work_item_id;
END;

CREATE TRIGGER activities_updated_first_response AFTER UPDATE ON activities BEGIN
    UPDATE work_items SET first_response_at = (
        SELECT MIN(a.occurred_at) FROM activities a
        WHERE a.work_item_id = work_items.id AND a.occurred_at >= work_items.opened_at
          AND a.source_system <> 'switchboard'
          AND ((a.kind = 'comment' AND a.author_ref IS NOT NULL)
               OR (a.kind = 'status_change' AND a.to_status IS NOT NULL AND a.to_status <> 'new'))
          AND (a.kind <> 'comment' OR work_items.requester_ref IS NULL
               OR a.author_ref <> work_items.requester_ref))
    WHERE id IN (OLD.work_item_id, NEW.work_item_id);
END;

CREATE TRIGGER activities_deleted_first_response AFTER DELETE ON activities BEGIN
    UPDATE work_items SET first_response_at = (
        SELECT MIN(a.occurred_at) FROM activities a
        WHERE a.work_item_id = work_items.id AND a.occurred_at >= work_items.opened_at
          AND a.source_system <> 'switchboard'
          AND ((a.kind = 'comment' AND a.author_ref IS NOT NULL)
               OR (a.kind = 'status_change' AND a.to_status IS NOT NULL AND a.to_status <> 'new'))
          AND (a.kind <> 'comment' OR work_items.requester_ref IS NULL
               OR a.author_ref <> work_items.requester_ref))
    WHERE id = OLD.work_item_id;
END;

-- The item's own part of the definition: when it opened, who asked.
CREATE TRIGGER work_items_first_response AFTER UPDATE OF opened_at, requester_ref ON work_items
WHEN OLD.opened_at IS NOT NEW.opened_at OR OLD.requester_ref IS NOT NEW.requester_ref
BEGIN
    UPDATE work_items SET first_response_at = (
        SELECT MIN(a.occurred_at) FROM activities a
        WHERE a.work_item_id = work_items.id AND a.occurred_at >= work_items.opened_at
          AND a.source_system <> 'switchboard'
          AND ((a.kind = 'comment' AND a.author_ref IS NOT NULL)
               OR (a.kind = 'status_change' AND a.to_status IS NOT NULL AND a.to_status <> 'new'))
          AND (a.kind <> 'comment' OR work_items.requester_ref IS NULL
               OR a.author_ref <> work_items.requester_ref))
    WHERE id = NEW.id;
END;

CREATE INDEX work_items_first_response ON work_items (first_response_at);

-- An agent's list filtered by requester compares the reference exactly
-- (0011's index is for the employee's view, without regard to case).
CREATE INDEX work_items_requester_exact ON work_items (requester_ref);

-- The agent's list by kind, and the directory by department: without them
-- a rare value walks the whole primary key for a page (tests/explain.rs).
CREATE INDEX work_items_kind ON work_items (kind);
CREATE INDEX people_department ON people (department);
-- `updated_since` compares this expression (SQLite holds times as text in
-- more than one shape), so the index is on the expression, character for
-- character as `views.rs` writes it.
CREATE INDEX work_items_updated_text ON work_items (strftime('%Y-%m-%dT%H:%M:%fZ', updated_at));
