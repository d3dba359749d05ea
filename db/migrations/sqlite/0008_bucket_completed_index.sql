-- Each node samples the buckets completed since its last check-in for the
-- dashboard's throughput chart; without an index that read scans every
-- bucket of every task at every check-in.
CREATE INDEX buckets_completed_at ON buckets (completed_at) WHERE state = 'COMPLETE';
