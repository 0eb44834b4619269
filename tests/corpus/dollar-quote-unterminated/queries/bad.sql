-- name: Q :one
SELECT $$abc AS x;
