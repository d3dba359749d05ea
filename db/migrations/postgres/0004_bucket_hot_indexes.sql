-- Claims read the READY buckets of a task in seq order, and recovery the
-- DELEGATED buckets of a node: small partial indexes serve both without
-- scanning the COMPLETE rows that pile up as a task runs.
CREATE INDEX buckets_ready_seq ON buckets (task_oid, seq) WHERE state = 'READY';
CREATE INDEX buckets_delegated_node ON buckets (node_id) WHERE state = 'DELEGATED';
