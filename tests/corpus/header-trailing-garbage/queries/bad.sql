-- name: Foo :one extra words
SELECT 1 AS one;
