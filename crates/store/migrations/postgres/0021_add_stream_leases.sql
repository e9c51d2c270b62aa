-- Which instance runs which stream (docs/SCALING.md). An instance takes a
-- stream's row for a run, renews it while the run goes on and gives it
-- back at the end; one that dies loses it when `expires_ms` passes, and
-- another takes the stream over from the committed cursor. `last_ok_ms`
-- is when a run last succeeded: an instance whose schedule ticks a moment
-- after another's finds the stream already run for that tick and leaves it.
-- Times are Unix milliseconds from the instances' clocks, compared the same
-- way on both backends.
CREATE TABLE stream_leases (
    source_system  TEXT NOT NULL,
    source_stream  TEXT NOT NULL,
    holder         TEXT,
    expires_ms     BIGINT,
    last_ok_ms     BIGINT,
    PRIMARY KEY (source_system, source_stream)
);
