-- Per-bucket error counts: a coordinator's progress is summed from its buckets,
-- so completing a bucket no longer locks the coordinator's row.
ALTER TABLE buckets ADD COLUMN errors INTEGER NOT NULL DEFAULT 0;
