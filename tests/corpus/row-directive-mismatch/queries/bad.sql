-- name: A :many
-- @row PostSummary
SELECT id, title FROM posts;

-- name: B :one
-- @row PostSummary
SELECT id, views FROM posts WHERE id = :id;
