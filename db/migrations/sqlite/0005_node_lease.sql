-- Each node's own nodeTimeout (its lease, judged by peers), the key of the
-- session-level advisory lock it holds while it lives (0 = none, e.g. SQLite),
-- and the settings that must match cluster-wide (homogeneous-cluster warnings).
ALTER TABLE nodes ADD COLUMN node_timeout_ms BIGINT NOT NULL DEFAULT 0;
ALTER TABLE nodes ADD COLUMN liveness_lock BIGINT NOT NULL DEFAULT 0;
ALTER TABLE nodes ADD COLUMN shared_settings TEXT NOT NULL DEFAULT '';
