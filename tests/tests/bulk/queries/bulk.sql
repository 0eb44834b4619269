-- Queries of the bulk-write tests: the generated code is committed in ../db
-- (tests/tests/bulk.rs checks that it is current).

-- name: InsertEverything :copyfrom
-- One row of every mapped type family, through binary COPY.
INSERT INTO everything (
    id, label, t_bool, t_int2, t_int4, t_int8, t_float4, t_float8, t_numeric, t_text,
    t_varchar, t_bytea, t_uuid, t_date, t_time, t_timestamp, t_timestamptz, t_interval,
    t_json, t_jsonb, meta, t_mood, t_address, t_count, a_int4, a_text, a_mood,
    t_int8range, t_tstzrange, t_numrange, t_int4multirange, t_inet, t_cidr
) VALUES (
    :id, :label, :t_bool?, :t_int2?, :t_int4?, :t_int8?, :t_float4?, :t_float8?, :t_numeric?, :t_text?,
    :t_varchar?, :t_bytea?, :t_uuid?, :t_date?, :t_time?, :t_timestamp?, :t_timestamptz?, :t_interval?,
    :t_json?, :t_jsonb?, :meta?, :t_mood?, :t_address?, :t_count?, :a_int4?, :a_text?, :a_mood?,
    :t_int8range?, :t_tstzrange?, :t_numrange?, :t_int4multirange?, :t_inet?, :t_cidr?
);

-- name: ListEverything :many
SELECT
    id, label, t_bool, t_int2, t_int4, t_int8, t_float4, t_float8, t_numeric, t_text,
    t_varchar, t_bytea, t_uuid, t_date, t_time, t_timestamp, t_timestamptz, t_interval,
    t_json, t_jsonb, meta, t_mood, t_address, t_count, a_int4, a_text, a_mood,
    t_int8range, t_tstzrange, t_numrange, t_int4multirange, t_inet, t_cidr
FROM everything
ORDER BY id;

-- name: SetGroupPrice :batchexec
-- Sets the price of every item of a group.
UPDATE items SET price = :price WHERE grp = :grp;

-- name: ItemsInGroup :batchmany
-- The items of each group.
SELECT id, name FROM items WHERE grp = :grp ORDER BY id;

-- name: ItemById :batchone
-- One item per id.
SELECT id, name, price FROM items WHERE id = :id;

-- name: RenameItem :batchone
-- Renames one item per element and returns it.
UPDATE items SET name = :name WHERE id = :id RETURNING id, name;

-- name: ListItems :many
SELECT id, grp, price, name FROM items ORDER BY id;

-- name: UpsertTags :many
-- Inserts or renames tags, one array per column (the unnest idiom).
INSERT INTO tags (id, name)
SELECT * FROM unnest(:ids::bigint[], :names::text[])
ON CONFLICT (id) DO UPDATE SET name = excluded.name
RETURNING id, name;

-- name: InsertEvents :copyfrom
-- Events through binary COPY.
INSERT INTO events (id, kind, body) VALUES (:id, :kind, :body?);

-- name: InsertEvent :batchexec
-- One event per element.
INSERT INTO events (id, kind, body) VALUES (:id, :kind, :body?);
