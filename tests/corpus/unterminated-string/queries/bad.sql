-- name: Q :many
SELECT id FROM posts
WHERE title = 'oops;
