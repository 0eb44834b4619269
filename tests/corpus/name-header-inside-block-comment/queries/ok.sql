-- name: Q :one
SELECT /*
-- name: Inner :one
*/ 1 AS one;
