-- name: Umlauts :one
SELECT 1 AS "ö", 2 AS "ü";
