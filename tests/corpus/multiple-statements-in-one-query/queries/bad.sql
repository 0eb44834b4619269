-- name: Q :one
SELECT 1 AS one; SELECT 2 AS two;
