-- What was done through the API on someone's behalf or to the running
-- hub (sync now, raise a request for someone else, later retry and
-- replay): who (the token's name), what, to what, when, and from where.
CREATE TABLE api_audit (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    actor   TEXT NOT NULL,
    action  TEXT NOT NULL,
    target  TEXT,
    detail  TEXT NOT NULL DEFAULT '{}',
    remote  TEXT
);
CREATE INDEX api_audit_at ON api_audit (at);
