-- The items of a system's own catalogue (ServiceNow catalogue items, Jira
-- request types), mapped to the canonical `offering`: the front door lists
-- them beside services.toml's offerings, with a link to ask in that system.
-- Written by the sync's page write like org units; retired items stay, with
-- `active` false, so a deactivation at the source is seen.
CREATE TABLE offerings (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    source_system   TEXT NOT NULL,
    source_stream   TEXT NOT NULL,
    external_id     TEXT NOT NULL,
    name            TEXT NOT NULL,
    description     TEXT,
    department      TEXT,
    category        TEXT,
    external_url    TEXT,
    active          BOOLEAN NOT NULL DEFAULT TRUE,
    attributes      TEXT NOT NULL DEFAULT '{}',
    mapping_version TEXT NOT NULL,
    synced_at       TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    UNIQUE (source_system, source_stream, external_id)
);

-- GET /api/v1/services and the portal read the active ones in this order.
CREATE INDEX offerings_listed ON offerings (department, name, source_system, external_id)
    WHERE active;
