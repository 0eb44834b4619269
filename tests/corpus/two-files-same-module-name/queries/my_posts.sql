-- name: B :one
SELECT 2 AS two;
