-- name: 9lives :one
SELECT 1 AS one;
