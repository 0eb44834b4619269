-- name: A :one
SELECT 1 AS one;
