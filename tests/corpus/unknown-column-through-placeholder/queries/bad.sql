-- name: Q :many
SELECT p.id FROM posts p WHERE p.author_id = :author AND p.titl = 'x';
