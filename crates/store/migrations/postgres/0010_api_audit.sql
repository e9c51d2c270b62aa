-- What was done through the API on someone's behalf or to the running
-- hub (sync now, raise a request for someone else, later retry and
-- replay): who (the token's name), what, to what, when, and from where.
CREATE TABLE api_audit (
    id      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    actor   TEXT NOT NULL,
    action  TEXT NOT NULL,
    target  TEXT,
    detail  JSONB NOT NULL DEFAULT '{}',
    remote  TEXT
);
CREATE INDEX api_audit_at ON api_audit (at);
