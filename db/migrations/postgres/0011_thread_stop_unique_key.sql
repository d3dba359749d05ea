-- threadStopAction: what recovery or a drain does with a task whose node
-- died or left mid-run ('' = restart). unique_key: a task holds it until it
-- is CLOSED. The partial unique index makes "one open task per key" hold
-- across nodes: of two creates at once, the database lets exactly one in.
ALTER TABLE tasks ADD COLUMN thread_stop_action TEXT NOT NULL DEFAULT '';
ALTER TABLE tasks ADD COLUMN unique_key TEXT NOT NULL DEFAULT '';
CREATE UNIQUE INDEX tasks_open_unique_key ON tasks (unique_key) WHERE unique_key <> '' AND execution_state <> 'CLOSED';
