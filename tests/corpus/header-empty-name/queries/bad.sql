-- name:  :one
SELECT 1 AS one;
