-- name: FnQuery :one
SELECT 1 AS one;
