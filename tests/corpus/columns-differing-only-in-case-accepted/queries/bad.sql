-- name: Selves :one
SELECT 1 AS self, 2 AS "Self";

-- name: Letters :one
SELECT 1 AS a, 2 AS "A";
