-- The change log (issue 21): every committed change that other nodes must
-- act on (a cached object changed, a user's sessions must be refreshed or
-- ended, every principal rebuilt) is one row, written in the transaction of
-- the change itself. Nodes follow it by seq on a short tick, so a node that
-- missed the signed push still applies the change within the tick. at_ms is
-- the database clock (Unix milliseconds) at the insert; rows are pruned by it.
CREATE TABLE change_log (
    seq     INTEGER PRIMARY KEY AUTOINCREMENT,
    type    TEXT NOT NULL,
    oid     TEXT NOT NULL,
    effect  TEXT NOT NULL,
    node_id TEXT NOT NULL DEFAULT '',
    at_ms   INTEGER NOT NULL DEFAULT (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER))
);
