-- name: Q :many
SELECT id FROM posts WHERE title = :v OR views = :v;
