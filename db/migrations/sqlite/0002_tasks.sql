-- Tasks, buckets and nodes (SQLite).
CREATE TABLE tasks (
    oid              TEXT PRIMARY KEY,
    name             TEXT NOT NULL,
    handler          TEXT NOT NULL,
    owner_oid        TEXT NOT NULL DEFAULT '',
    params           TEXT NOT NULL DEFAULT '{}',
    schedule         TEXT NOT NULL DEFAULT '{}',
    bucketing        TEXT NOT NULL DEFAULT '',
    workers          TEXT NOT NULL DEFAULT '',
    execution_group  TEXT NOT NULL DEFAULT '',
    parent_oid       TEXT NOT NULL DEFAULT '',
    role             TEXT NOT NULL,
    execution_state  TEXT NOT NULL,
    result_status    TEXT NOT NULL,
    message          TEXT NOT NULL DEFAULT '',
    node_id          TEXT NOT NULL DEFAULT '',
    items_processed  INTEGER NOT NULL DEFAULT 0,
    errors           INTEGER NOT NULL DEFAULT 0,
    run_count        INTEGER NOT NULL DEFAULT 0,
    last_run_start   TIMESTAMP,
    last_run_finish  TIMESTAMP,
    next_run_time    TIMESTAMP,
    token            TEXT NOT NULL DEFAULT '',
    version          INTEGER NOT NULL DEFAULT 1,
    created_at       TIMESTAMP NOT NULL,
    modified_at      TIMESTAMP NOT NULL
);
CREATE INDEX tasks_parent ON tasks (parent_oid);
CREATE INDEX tasks_state ON tasks (execution_state);
CREATE INDEX tasks_node ON tasks (node_id);

CREATE TABLE buckets (
    task_oid        TEXT NOT NULL REFERENCES tasks (oid) ON DELETE CASCADE,
    seq             INTEGER NOT NULL,
    state           TEXT NOT NULL,
    worker_oid      TEXT NOT NULL DEFAULT '',
    node_id         TEXT NOT NULL DEFAULT '',
    epoch           INTEGER NOT NULL DEFAULT 0,
    content         TEXT NOT NULL,
    items_processed INTEGER NOT NULL DEFAULT 0,
    completions     INTEGER NOT NULL DEFAULT 0,
    claimed_at      TIMESTAMP,
    completed_at    TIMESTAMP,
    PRIMARY KEY (task_oid, seq)
);
CREATE INDEX buckets_ready ON buckets (task_oid, state, seq);
CREATE INDEX buckets_worker ON buckets (worker_oid);

CREATE TABLE nodes (
    node_id           TEXT PRIMARY KEY,
    internal_id       TEXT NOT NULL DEFAULT '',
    hostname          TEXT NOT NULL DEFAULT '',
    http_port         INTEGER NOT NULL DEFAULT 0,
    url               TEXT NOT NULL DEFAULT '',
    url_override      TEXT NOT NULL DEFAULT '',
    clustered         BOOLEAN NOT NULL DEFAULT FALSE,
    version           TEXT NOT NULL DEFAULT '',
    schema_version    INTEGER NOT NULL DEFAULT 0,
    operational_state TEXT NOT NULL,
    scheduler_state   TEXT NOT NULL,
    error_reason      TEXT NOT NULL DEFAULT '',
    execution_groups  TEXT NOT NULL DEFAULT '',
    secret            TEXT NOT NULL DEFAULT '',
    last_check_in     TIMESTAMP NOT NULL,
    started_at        TIMESTAMP NOT NULL
);
