-- The canonical store: one row per record per source system, keyed by
-- (source_system, source_stream, external_id) so every upsert is idempotent.

CREATE TABLE people (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source_system  TEXT NOT NULL,
    source_stream  TEXT NOT NULL,
    external_id    TEXT NOT NULL,
    display_name   TEXT,
    email          TEXT,
    employee_number TEXT,
    department     TEXT,
    org_unit_ref   TEXT,
    location_ref   TEXT,
    manager_ref    TEXT,
    active         BOOLEAN,
    attributes     JSONB NOT NULL DEFAULT '{}',
    mapping_version TEXT NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    synced_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (source_system, source_stream, external_id)
);
CREATE INDEX people_email ON people (lower(email));

CREATE TABLE org_units (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source_system  TEXT NOT NULL,
    source_stream  TEXT NOT NULL,
    external_id    TEXT NOT NULL,
    name           TEXT NOT NULL,
    code           TEXT,
    parent_ref     TEXT,
    attributes     JSONB NOT NULL DEFAULT '{}',
    mapping_version TEXT NOT NULL,
    synced_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (source_system, source_stream, external_id)
);

CREATE TABLE locations (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source_system  TEXT NOT NULL,
    source_stream  TEXT NOT NULL,
    external_id    TEXT NOT NULL,
    name           TEXT NOT NULL,
    site           TEXT,
    building       TEXT,
    floor          TEXT,
    attributes     JSONB NOT NULL DEFAULT '{}',
    mapping_version TEXT NOT NULL,
    synced_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (source_system, source_stream, external_id)
);

CREATE TABLE work_items (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source_system  TEXT NOT NULL,
    source_stream  TEXT NOT NULL,
    external_id    TEXT NOT NULL,
    external_url   TEXT,
    kind           TEXT NOT NULL CHECK (kind IN ('incident', 'request', 'work_order', 'case', 'task')),
    title          TEXT NOT NULL,
    description    TEXT,
    status         TEXT NOT NULL CHECK (status IN ('new', 'open', 'in_progress', 'waiting', 'resolved', 'closed', 'cancelled')),
    native_status  TEXT,
    priority       SMALLINT CHECK (priority BETWEEN 1 AND 4),
    requester_ref  TEXT,
    department     TEXT,
    assignee_group TEXT,
    service        TEXT,
    location_ref   TEXT,
    opened_at      TIMESTAMPTZ,
    updated_at     TIMESTAMPTZ,
    resolved_at    TIMESTAMPTZ,
    closed_at      TIMESTAMPTZ,
    due_at         TIMESTAMPTZ,
    attributes     JSONB NOT NULL DEFAULT '{}',
    mapping_version TEXT NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    synced_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (source_system, source_stream, external_id)
);
CREATE INDEX work_items_status ON work_items (status);
CREATE INDEX work_items_department ON work_items (department);

-- Comments and status changes on a work item.
CREATE TABLE activities (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    work_item_id   BIGINT NOT NULL REFERENCES work_items (id) ON DELETE CASCADE,
    kind           TEXT NOT NULL CHECK (kind IN ('comment', 'status_change')),
    author_ref     TEXT,
    body           TEXT,
    from_status    TEXT,
    to_status      TEXT,
    occurred_at    TIMESTAMPTZ NOT NULL,
    source_system  TEXT NOT NULL,
    external_id    TEXT,
    UNIQUE (source_system, external_id)
);
CREATE INDEX activities_work_item ON activities (work_item_id, occurred_at);

-- A record in one system that stands for the same thing as a record in another.
CREATE TABLE links (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    from_system    TEXT NOT NULL,
    from_id        TEXT NOT NULL,
    to_system      TEXT NOT NULL,
    to_id          TEXT NOT NULL,
    relation       TEXT NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (from_system, from_id, to_system, to_id, relation)
);

-- The raw payload as the source sent it, and the hash that lets an unchanged record be skipped.
CREATE TABLE source_records (
    source_system  TEXT NOT NULL,
    source_stream  TEXT NOT NULL,
    external_id    TEXT NOT NULL,
    content_hash   TEXT NOT NULL,
    mapping_version TEXT NOT NULL,
    payload        JSONB NOT NULL,
    first_seen_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_changed_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (source_system, source_stream, external_id)
);

-- Where each connector stream has read up to. Written in the same transaction as the page it covers.
CREATE TABLE sync_state (
    source_system  TEXT NOT NULL,
    source_stream  TEXT NOT NULL,
    cursor         TEXT,
    last_run_started_at  TIMESTAMPTZ,
    last_run_finished_at TIMESTAMPTZ,
    last_error     TEXT,
    updated_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (source_system, source_stream)
);

-- Records that could not be mapped, with the reason, kept until a later version maps cleanly.
CREATE TABLE quarantine (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source_system  TEXT NOT NULL,
    source_stream  TEXT NOT NULL,
    external_id    TEXT NOT NULL,
    reason         TEXT NOT NULL,
    payload        JSONB NOT NULL,
    mapping_version TEXT,
    first_seen_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_seen_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    attempts       INTEGER NOT NULL DEFAULT 1,
    UNIQUE (source_system, source_stream, external_id)
);

-- Messages to publish, written in the same transaction as the change that caused them.
CREATE TABLE outbox (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id       TEXT NOT NULL UNIQUE,
    routing_key    TEXT NOT NULL,
    payload        JSONB NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    available_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    attempts       INTEGER NOT NULL DEFAULT 0,
    last_error     TEXT,
    sent_at        TIMESTAMPTZ
);
CREATE INDEX outbox_pending ON outbox (available_at) WHERE sent_at IS NULL;
