-- Routed work a writer is applying or has applied, by the message's event
-- id. A redelivered message whose row says `applied` is acknowledged
-- without calling the target again; one that says `applying` was cut off
-- mid-call, may have been applied, and goes to the dead-letter queue for a
-- person to check rather than risk a second work order.
CREATE TABLE deliveries (
    event_id    TEXT PRIMARY KEY,
    connector   TEXT NOT NULL,
    action      TEXT NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('applying', 'applied')),
    target_id   TEXT,
    started_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    applied_at  TIMESTAMPTZ
);

-- The in-process transport's dead letters: rows it gave up on stay in the
-- outbox with the reason, out of the relay's way, until `dlq replay`.
ALTER TABLE outbox ADD COLUMN dead_at TIMESTAMPTZ;
DROP INDEX outbox_pending;
CREATE INDEX outbox_pending ON outbox (available_at) WHERE sent_at IS NULL AND dead_at IS NULL;
CREATE INDEX outbox_dead ON outbox (dead_at) WHERE dead_at IS NOT NULL;

-- A link from routed work to what a writer created for it: the origin's
-- stream finds the origin item again, and the event id says which routing
-- decision made it. Looked up by either end on every synced page.
ALTER TABLE links ADD COLUMN from_stream TEXT;
ALTER TABLE links ADD COLUMN event_id TEXT;
CREATE INDEX links_to ON links (to_system, to_id);
CREATE INDEX links_from ON links (from_system, from_id);

-- When a stream first completed a run. Until then its runs are a
-- baseline: records are stored and nothing is routed, so connecting a
-- system with years of history does not route years of work.
ALTER TABLE sync_state ADD COLUMN baseline_at TIMESTAMPTZ;
