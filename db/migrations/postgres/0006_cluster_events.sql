-- Cluster activity: what an operator wants to see happened, stored in the
-- repository so every node shows the same list (node joined or left, node
-- declared dead and by whom, its work recovered, buckets fenced, scheduler
-- stopped or started, conformance errors). "at" is the database clock.
CREATE TABLE cluster_events (
    id      BIGSERIAL PRIMARY KEY,
    at      TIMESTAMPTZ NOT NULL,
    kind    TEXT NOT NULL,
    node_id TEXT NOT NULL DEFAULT '',
    actor   TEXT NOT NULL DEFAULT '',
    message TEXT NOT NULL DEFAULT '',
    millis  BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX cluster_events_at ON cluster_events (at);
