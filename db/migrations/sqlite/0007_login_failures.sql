-- Failed logins per user and per client, shared by every node so brute
-- force is throttled across the cluster (app/auth Throttle). One row per
-- key ("user:<name>" or "client:<address>"); a window starts with the first
-- failure and counts the failures in it. Times are Unix milliseconds.
CREATE TABLE login_failures (
    throttle_key    TEXT PRIMARY KEY,
    failures        INTEGER NOT NULL,
    window_start_ms BIGINT NOT NULL
);
CREATE INDEX login_failures_window ON login_failures (window_start_ms);
