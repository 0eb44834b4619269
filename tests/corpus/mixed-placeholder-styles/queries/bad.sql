-- name: Q :many
SELECT id FROM posts WHERE id = :id AND views = $1;
