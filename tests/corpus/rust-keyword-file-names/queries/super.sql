-- name: SuperQuery :one
SELECT 1 AS one;
