-- name: TypeQuery :one
SELECT 1 AS one;
