-- name: CrateQuery :one
SELECT 1 AS one;
