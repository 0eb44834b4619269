-- name: Café :one
SELECT 1 AS one;
