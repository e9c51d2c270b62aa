-- Tombstones: a record deleted at the source is marked, never erased
-- (docs/CONNECTORS.md, "Deletions"). `deleted_at` is set on the raw payload
-- and on the canonical row in one transaction, and cleared when the source
-- lists the record again.
ALTER TABLE source_records ADD COLUMN deleted_at TIMESTAMPTZ;
ALTER TABLE work_items ADD COLUMN deleted_at TIMESTAMPTZ;
ALTER TABLE people ADD COLUMN deleted_at TIMESTAMPTZ;
ALTER TABLE org_units ADD COLUMN deleted_at TIMESTAMPTZ;
ALTER TABLE offerings ADD COLUMN deleted_at TIMESTAMPTZ;

-- Tombstones per stream (`/status`) without reading the live rows.
CREATE INDEX source_records_tombstones ON source_records (source_system, source_stream)
    WHERE deleted_at IS NOT NULL;

-- The keys a reconciliation's listing returned, staged a page at a time
-- under the reconciliation's own id (two runs of one stream never mix) and
-- compared with source_records in SQL; removed when it ends, and left
-- over rows of a crashed one a day later.
CREATE TABLE reconcile_keys (
    run_id         TEXT NOT NULL,
    source_system  TEXT NOT NULL,
    source_stream  TEXT NOT NULL,
    external_id    TEXT NOT NULL,
    staged_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (run_id, source_system, source_stream, external_id)
);
