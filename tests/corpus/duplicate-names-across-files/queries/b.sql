-- name: Same :one
SELECT 2 AS two;
