-- name: Del :exec
DELETE FROM posts WHERE id = :id RETURNING id;
