-- Indexes for the KPIs (docs/KPIS.md, src/store/kpi.rs). Each KPI statement
-- reads one time range, so each range has an index and a quarter's KPIs
-- read a quarter's rows, not the table.

-- Volume, and cases opened: opened_at in the window.
CREATE INDEX work_items_opened ON work_items (opened_at);

-- Resolutions, SLA, closed cases and routed work done: when an item ended.
-- The expression is the one the statements use, character for character.
CREATE INDEX work_items_ended ON work_items (COALESCE(resolved_at, closed_at, updated_at));

-- Backlog: the items open now, by when they were opened. A small share of
-- the table, so the index stays small.
CREATE INDEX work_items_open ON work_items (opened_at)
    WHERE status IN ('new', 'open', 'in_progress', 'waiting');

-- Routed work: a link's target is found by system and external id (a link
-- does not name the target's stream).
CREATE INDEX work_items_system_external ON work_items (source_system, external_id);

-- First responses and reopens: activities in the window. With the item's
-- id in the index, the items that had any activity in the window are
-- found from the index alone.
CREATE INDEX activities_occurred ON activities (occurred_at, work_item_id);

-- Routed work sent in the window.
CREATE INDEX links_relation_created ON links (relation, created_at);
