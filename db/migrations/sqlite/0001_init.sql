-- Cadre repository schema, version 1 (SQLite).
CREATE TABLE objects (
    oid         TEXT PRIMARY KEY,
    type        TEXT NOT NULL,
    name        TEXT NOT NULL,
    name_norm   TEXT NOT NULL,
    version     INTEGER NOT NULL,
    data        TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    modified_at TIMESTAMP NOT NULL,
    UNIQUE (type, name_norm)
);
CREATE INDEX objects_type_name ON objects (type, name_norm, oid);

CREATE TABLE sessions (
    id           TEXT PRIMARY KEY,
    user_oid     TEXT NOT NULL,
    csrf_token   TEXT NOT NULL,
    node_id      TEXT NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    last_seen_at TIMESTAMP NOT NULL,
    expires_at   TIMESTAMP NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_oid);
CREATE INDEX sessions_expires ON sessions (expires_at);
