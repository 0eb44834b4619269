-- name: A :many
SELECT nope FROM posts;

-- name: B :one
-- @bogus
SELECT 1 AS x;

-- name: C :one
DELETE FROM posts;
