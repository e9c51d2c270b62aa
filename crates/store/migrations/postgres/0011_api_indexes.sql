-- Indexes for the API's reads (docs/API.md): an employee's requests are
-- found by requester address without regard to case, and an agent's list
-- filtered by requester or by when the source last changed an item.
CREATE INDEX work_items_requester_ref ON work_items (lower(requester_ref));
CREATE INDEX work_items_updated ON work_items (updated_at);
