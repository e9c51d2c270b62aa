-- What a writer wrote on an existing record of a system (a comment it
-- forwarded, progress it posted), as text, before the call. When that
-- system is read again the record carries the text back as one of its own
-- comments; a comment that matches is recognised as the hub's and is not
-- sent on, so a comment crosses once and is never echoed. Forgotten with
-- its delivery when the target surely did not apply it.
CREATE TABLE sent_notes (
    system       TEXT NOT NULL,
    external_id  TEXT NOT NULL,
    event_id     TEXT NOT NULL,
    body         TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX sent_notes_record ON sent_notes (system, external_id);
CREATE INDEX sent_notes_event ON sent_notes (event_id);
