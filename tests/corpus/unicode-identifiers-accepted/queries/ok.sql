-- name: Q :one
SELECT 1 AS "Größe", 2 AS "a b", 3 AS "1st", 4 AS "🎉", 5 AS "CamelCase";
