-- Queries of the streaming tests: the generated code is committed in ../db
-- (tests/tests/streaming.rs checks that it is current).

-- name: Payloads :many
-- `n` rows of about 100 bytes each (an id and 92 bytes of text).
SELECT g AS id, repeat('x', 92) AS payload
FROM generate_series(1, :n::bigint) g;

-- name: Labels :many
-- `n` labels made from a borrowed parameter.
SELECT g AS id, :prefix::text || g::text AS label
FROM generate_series(1, :n::bigint) g;

-- name: OwnerNames :many
SELECT o.id, o.name FROM owners o ORDER BY o.id;

-- name: ListItems :many
-- Items up to `max_id` with their owner and their notes (chunks of the default size).
-- @prefetch owner
-- @prefetch notes
SELECT i.id, i.owner_id, i.name
FROM items i
WHERE i.id <= :max_id
ORDER BY i.id;

-- name: ListItemsByName :many
-- Items whose name starts with `prefix`, with their owner and notes, three per chunk.
-- @prefetch owner
-- @prefetch notes
-- @chunk 3
SELECT i.id, i.owner_id, i.name
FROM items i
WHERE i.name LIKE :prefix || '%'
ORDER BY i.id;
