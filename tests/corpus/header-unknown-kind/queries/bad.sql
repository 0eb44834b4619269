-- name: Q :first
SELECT 1 AS one;
