-- Cadre repository schema, version 1 (PostgreSQL).
CREATE TABLE objects (
    oid         TEXT PRIMARY KEY,
    type        TEXT NOT NULL,
    name        TEXT NOT NULL,
    name_norm   TEXT NOT NULL,
    version     BIGINT NOT NULL,
    data        TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    modified_at TIMESTAMPTZ NOT NULL,
    UNIQUE (type, name_norm)
);
CREATE INDEX objects_type_name ON objects (type, name_norm, oid);

CREATE TABLE sessions (
    id           TEXT PRIMARY KEY,
    user_oid     TEXT NOT NULL,
    csrf_token   TEXT NOT NULL,
    node_id      TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    last_seen_at TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_oid);
CREATE INDEX sessions_expires ON sessions (expires_at);
