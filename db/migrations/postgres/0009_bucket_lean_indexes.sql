-- A bucket's row is rewritten twice (claimed, completed), and every rewrite
-- of an indexed column adds an entry to every index whose condition the new
-- row meets. The full (task_oid, state, seq) index is covered by the READY
-- partial index of 0004; the worker index is only read for DELEGATED rows
-- (giving a worker's buckets back), so it becomes partial too.
DROP INDEX buckets_ready;
DROP INDEX buckets_worker;
CREATE INDEX buckets_delegated_worker ON buckets (worker_oid) WHERE state = 'DELEGATED';
