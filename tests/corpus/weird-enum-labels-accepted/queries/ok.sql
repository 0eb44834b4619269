-- name: Q :one
SELECT mood, 'x'::text AS note FROM authors WHERE id = :id;
