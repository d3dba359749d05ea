-- Keyset reads by OID within one type (a bucket's range of users in a
-- recompute, a report walking every user) need an index that leads with the
-- type and then the OID. Without it PostgreSQL answered
--   WHERE type = 'users' AND oid >= $1 AND oid < $2 AND oid > $3 ORDER BY oid LIMIT 500
-- through objects_type_name (type, name_norm, oid), reading every user's
-- entry to filter on oid: each page cost the whole type, a recompute of
-- 1,000,000 users O(N²) (325 s). With it a page reads its own rows.
CREATE INDEX objects_type_oid ON objects (type, oid);
