-- When the in-process transport first failed to deliver a row because its
-- target did not answer. The outage budget (`[delivery]
-- outage_budget_secs`) is counted from here; a replay clears it.
ALTER TABLE outbox ADD COLUMN first_failed_at TEXT;
