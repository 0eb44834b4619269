-- name: SelfQuery :one
SELECT 1 AS one;
