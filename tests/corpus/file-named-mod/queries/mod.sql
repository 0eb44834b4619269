-- name: ModQuery :one
SELECT 1 AS one;
