-- When a RUNNING task's progress last moved, set by the node running it once
-- the task has not moved for taskManager/stalledTasksThreshold; NULL while
-- the task is not stalled.
ALTER TABLE tasks ADD COLUMN stalled_since TIMESTAMPTZ NULL;
