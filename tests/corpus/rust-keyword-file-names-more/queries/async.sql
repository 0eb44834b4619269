-- name: AsyncQuery :one
SELECT 1 AS one;
