-- name: Q :many
SELECT id FROM posts WHERE author_id = $1 AND views > $2;
