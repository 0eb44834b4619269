-- name: Q :many
SELECT id,
FROM posts;
