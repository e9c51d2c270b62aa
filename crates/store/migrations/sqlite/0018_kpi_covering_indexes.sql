-- The KPI statements that read the most rows read them from the index
-- alone (a covering index), not from the table (docs/PERFORMANCE.md). The
-- same indexes as PostgreSQL's 0018, which has `INCLUDE` for the columns
-- after the first; SQLite keeps them as trailing key columns.

-- Backlog: the items open now, with what the backlog groups and counts.
DROP INDEX work_items_open;
CREATE INDEX work_items_open ON work_items (opened_at, department, source_system, due_at)
    WHERE status IN ('new', 'open', 'in_progress', 'waiting');

-- First responses in the window, with what their percentiles group by.
DROP INDEX work_items_first_response;
CREATE INDEX work_items_first_response
    ON work_items (first_response_at, department, source_system, opened_at);
