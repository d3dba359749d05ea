-- Cadre Quartz-style job store, version 1 (PostgreSQL).
-- Times are unix milliseconds (UTC); durations are milliseconds.
CREATE TABLE qrtz_jobs (
    job_key          TEXT PRIMARY KEY,
    exec_group       TEXT NOT NULL DEFAULT '',
    request_recovery BOOLEAN NOT NULL DEFAULT FALSE,
    data             TEXT NOT NULL DEFAULT '{}'
);

CREATE TABLE qrtz_triggers (
    trigger_key    TEXT PRIMARY KEY,
    job_key        TEXT NOT NULL REFERENCES qrtz_jobs (job_key) ON DELETE CASCADE,
    kind           TEXT NOT NULL,
    interval_ms    BIGINT NOT NULL DEFAULT 0,
    cron           TEXT NOT NULL DEFAULT '',
    misfire        TEXT NOT NULL DEFAULT 'fireNow',
    exec_group     TEXT NOT NULL DEFAULT '',
    next_fire_time BIGINT NOT NULL,
    prev_fire_time BIGINT NOT NULL DEFAULT 0,
    paused         BOOLEAN NOT NULL DEFAULT FALSE,
    recovering     BOOLEAN NOT NULL DEFAULT FALSE,
    version        BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX qrtz_triggers_due ON qrtz_triggers (paused, next_fire_time);
CREATE INDEX qrtz_triggers_job ON qrtz_triggers (job_key);

CREATE TABLE qrtz_fired_triggers (
    fire_id        TEXT PRIMARY KEY,
    trigger_key    TEXT NOT NULL,
    job_key        TEXT NOT NULL,
    exec_group     TEXT NOT NULL DEFAULT '',
    instance_id    TEXT NOT NULL,
    scheduled_time BIGINT NOT NULL,
    fired_time     BIGINT NOT NULL,
    recovering     BOOLEAN NOT NULL DEFAULT FALSE,
    data           TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX qrtz_fired_triggers_instance ON qrtz_fired_triggers (instance_id);

CREATE TABLE qrtz_instances (
    instance_id  TEXT PRIMARY KEY,
    last_checkin BIGINT NOT NULL,
    interval_ms  BIGINT NOT NULL DEFAULT 0
);
