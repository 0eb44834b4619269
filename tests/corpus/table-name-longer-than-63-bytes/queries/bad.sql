-- name: Q :one
SELECT 1 AS one FROM tttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttt;
