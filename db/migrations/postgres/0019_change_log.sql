-- The change log (issue 21): every committed change that other nodes must
-- act on (a cached object changed, a user's sessions must be refreshed or
-- ended, every principal rebuilt) is one row, written in the transaction of
-- the change itself. Nodes follow it by seq on a short tick, so a node that
-- missed the signed push still applies the change within the tick. at_ms is
-- the database clock (Unix milliseconds) at the insert; rows are pruned by it.
CREATE TABLE change_log (
    seq     BIGSERIAL PRIMARY KEY,
    type    TEXT NOT NULL,
    oid     TEXT NOT NULL,
    effect  TEXT NOT NULL,
    node_id TEXT NOT NULL DEFAULT '',
    at_ms   BIGINT NOT NULL DEFAULT (extract(epoch from clock_timestamp()) * 1000)::bigint
);
