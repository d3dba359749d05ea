-- objects_type_name (type, name_norm, oid) repeats the unique (type,
-- name_norm) key of objects: names are unique per type, so its oid orders
-- nothing, and every read it could answer the unique index answers the same
-- way. It was one more index to write for every object added and every
-- update that cannot stay on its page (a recompute of a million users
-- writes a million entries into each index).
DROP INDEX IF EXISTS objects_type_name;
