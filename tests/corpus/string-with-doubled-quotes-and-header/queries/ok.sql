-- name: Q :one
SELECT 'it''s -- name: X :one' AS s, U&"d\0061t\+000061" AS u FROM (SELECT 1 AS data) t;
