-- name: Same :one
SELECT 1 AS one;
