-- name: Foo :one
-- name: Bar :one
SELECT 1 AS one;
