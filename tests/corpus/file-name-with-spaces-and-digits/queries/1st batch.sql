-- name: FirstBatch :one
SELECT 1 AS one;
