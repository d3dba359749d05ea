-- Retries and checkpoints (DESIGN §4 retry, §5 checkpoints).
-- A bucket counts its finished attempts and keeps the last error; a failed
-- bucket waits in READY until not_before; checkpoint is the handler's last
-- recorded position inside the bucket ({"items","errors","position"} as
-- JSON, '' for none) and resumed_from the checkpoint its current holder
-- started from. Claims filter READY rows on not_before through the READY
-- partial index of 0004: the rows in backoff are few, so no new index.
ALTER TABLE buckets ADD COLUMN attempts BIGINT NOT NULL DEFAULT 0;
ALTER TABLE buckets ADD COLUMN last_error TEXT NOT NULL DEFAULT '';
ALTER TABLE buckets ADD COLUMN checkpoint TEXT NOT NULL DEFAULT '';
ALTER TABLE buckets ADD COLUMN resumed_from TEXT NOT NULL DEFAULT '';
ALTER TABLE buckets ADD COLUMN not_before TIMESTAMPTZ;
-- A task keeps its retry spec ('' = one attempt), the attempts of its
-- current run, the last error and a standalone run's checkpoint.
ALTER TABLE tasks ADD COLUMN retry TEXT NOT NULL DEFAULT '';
ALTER TABLE tasks ADD COLUMN attempts BIGINT NOT NULL DEFAULT 0;
ALTER TABLE tasks ADD COLUMN last_error TEXT NOT NULL DEFAULT '';
ALTER TABLE tasks ADD COLUMN checkpoint TEXT NOT NULL DEFAULT '';
