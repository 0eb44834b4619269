-- name: Q :many
SELECT id FROM posts WHERE views = 'many' || 1 + true;
