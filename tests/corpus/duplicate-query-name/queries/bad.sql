-- name: Q :many
SELECT 1 AS a;

-- name: Q :many
SELECT 2 AS b;
