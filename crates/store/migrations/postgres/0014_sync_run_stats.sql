-- How the last run of a stream went, for `switchboard status`, the status
-- page and GET /api/v1/connectors: what it read and stored, and when the
-- last successful run started (everything changed at the source before
-- that moment is in the store: the stream's lag).
ALTER TABLE sync_state ADD COLUMN last_run_fetched BIGINT;
ALTER TABLE sync_state ADD COLUMN last_run_stored BIGINT;
ALTER TABLE sync_state ADD COLUMN last_success_started_at TIMESTAMPTZ;
