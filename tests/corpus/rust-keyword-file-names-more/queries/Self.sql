-- name: BigSelfQuery :one
SELECT 1 AS one;
