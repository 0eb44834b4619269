-- name: A :many
SELECT 1 + 1 FROM posts;

-- name: B :many
SELECT p.id, a.id FROM posts p JOIN authors a ON a.id = p.author_id;
