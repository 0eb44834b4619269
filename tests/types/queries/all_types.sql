-- name: InsertScalars :one
-- @row Scalars
INSERT INTO scalars (
    t_bool, t_char, t_int2, t_int4, t_int8, t_float4, t_float8, t_oid, t_numeric, t_money,
    t_text, t_varchar, t_bpchar, t_name, t_citext, t_bytea, t_uuid, t_json, t_jsonb, t_xml
) VALUES (
    :t_bool?, :t_char?, :t_int2?, :t_int4?, :t_int8?, :t_float4?, :t_float8?, :t_oid?, :t_numeric?, :t_money?,
    :t_text?, :t_varchar?, :t_bpchar?, :t_name?, :t_citext?, :t_bytea?, :t_uuid?, :t_json?, :t_jsonb?, :t_xml?
)
RETURNING *;

-- name: GetScalars :one
-- @row Scalars
SELECT * FROM scalars WHERE id = :id;

-- name: InsertNetSearch :one
-- @row NetSearch
INSERT INTO net_search (t_inet, t_cidr, t_macaddr, t_macaddr8, t_bit, t_varbit, t_tsvector, t_tsquery)
VALUES (:t_inet?, :t_cidr?, :t_macaddr?, :t_macaddr8?, :t_bit?, :t_varbit?, :t_tsvector?, :t_tsquery?)
RETURNING *;

-- name: GetNetSearch :one
-- @row NetSearch
SELECT * FROM net_search WHERE id = :id;

-- name: InsertTimes :one
-- @row Times
INSERT INTO times (
    t_date, t_time, t_timetz, t_timestamp, t_timestamptz, t_interval,
    t_tsrange, t_tstzrange, t_daterange, t_datemultirange,
    a_date, a_time, a_timetz, a_timestamp, a_timestamptz, a_interval
) VALUES (
    :t_date?, :t_time?, :t_timetz?, :t_timestamp?, :t_timestamptz?, :t_interval?,
    :t_tsrange?, :t_tstzrange?, :t_daterange?, :t_datemultirange?,
    :a_date?, :a_time?, :a_timetz?, :a_timestamp?, :a_timestamptz?, :a_interval?
)
RETURNING *;

-- name: GetTimes :one
-- @row Times
SELECT * FROM times WHERE id = :id;

-- name: InsertInfinities :one
-- @row Infinities
INSERT INTO infinities (t_date, t_timestamp, t_timestamptz)
VALUES (:t_date?, :t_timestamp?, :t_timestamptz?)
RETURNING *;

-- name: GetInfinities :one
-- @row Infinities
SELECT * FROM infinities WHERE id = :id;

-- name: InfinityWithoutOverride :one
-- The infinities table's values, as expressions: no column override applies.
SELECT t_date + 0 AS plain_date,
       t_timestamp + '0 s'::interval AS plain_timestamp,
       t_timestamptz + '0 s'::interval AS plain_timestamptz
FROM infinities WHERE id = :id;

-- name: InsertRanges :one
-- @row Ranges
INSERT INTO ranges (
    t_int4range, t_int8range, t_numrange, t_int4multirange, t_int8multirange, t_nummultirange, a_int4range
) VALUES (
    :t_int4range?, :t_int8range?, :t_numrange?, :t_int4multirange?, :t_int8multirange?, :t_nummultirange?, :a_int4range?
)
RETURNING *;

-- name: GetRanges :one
-- @row Ranges
SELECT * FROM ranges WHERE id = :id;

-- name: InsertScalarArrays :one
-- @row ScalarArrays
INSERT INTO scalar_arrays (
    a_bool, a_char, a_int2, a_int4, a_int8, a_float4, a_float8, a_oid, a_numeric, a_money,
    a_text, a_varchar, a_bpchar, a_name, a_citext, a_bytea, a_uuid, a_json, a_jsonb, a_xml
) VALUES (
    :a_bool?, :a_char?, :a_int2?, :a_int4?, :a_int8?, :a_float4?, :a_float8?, :a_oid?, :a_numeric?, :a_money?,
    :a_text?, :a_varchar?, :a_bpchar?, :a_name?, :a_citext?, :a_bytea?, :a_uuid?, :a_json?, :a_jsonb?, :a_xml?
)
RETURNING *;

-- name: GetScalarArrays :one
-- @row ScalarArrays
SELECT * FROM scalar_arrays WHERE id = :id;

-- name: InsertOtherArrays :one
-- @row OtherArrays
INSERT INTO other_arrays (
    a_inet, a_cidr, a_macaddr, a_macaddr8, a_bit, a_varbit, a_tsvector, a_tsquery, a_mood, a_address
) VALUES (
    :a_inet?, :a_cidr?, :a_macaddr?, :a_macaddr8?, :a_bit?, :a_varbit?, :a_tsvector?, :a_tsquery?, :a_mood?, :a_address?
)
RETURNING *;

-- name: GetOtherArrays :one
-- @row OtherArrays
SELECT * FROM other_arrays WHERE id = :id;

-- name: InsertSparseArrays :one
-- @row SparseArrays
INSERT INTO sparse_arrays (a_int4, a_text, a_mood)
VALUES (:a_int4?, :a_text?, :a_mood?)
RETURNING *;

-- name: GetSparseArrays :one
-- @row SparseArrays
SELECT * FROM sparse_arrays WHERE id = :id;

-- name: InsertUserTypes :one
-- @row UserTypes
INSERT INTO user_types (t_mood, t_address, t_point, t_count, t_email, a_email, t_card)
VALUES (:t_mood?, :t_address?, :t_point?, :t_count, :t_email?, :a_email?, :t_card?)
RETURNING *;

-- name: GetUserTypes :one
-- @row UserTypes
SELECT * FROM user_types WHERE id = :id;

-- name: GetUserScalars :one
-- The user-defined types without arrays of domains and composites holding domains.
SELECT id, t_mood, t_address, t_point, t_count, t_email FROM user_types WHERE id = :id;

-- name: MoodsAbove :many
-- Enum parameters and enum ordering (PostgreSQL's, by declaration).
SELECT t_mood AS "mood!" FROM user_types WHERE t_mood > :floor ORDER BY t_mood, id;

-- name: InsertMatrix :one
INSERT INTO matrix (cells) VALUES (:cells?) RETURNING *;

-- name: GetMatrix :one
SELECT * FROM matrix WHERE id = :id;

-- name: InsertDocument :one
-- @row Document
INSERT INTO documents (meta, raw) VALUES (:meta?, :raw?) RETURNING *;

-- name: GetDocument :one
-- @row Document
SELECT * FROM documents WHERE id = :id;
