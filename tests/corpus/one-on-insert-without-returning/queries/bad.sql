-- name: AddPost :one
INSERT INTO posts (author_id, title) VALUES (:author_id, :title);
