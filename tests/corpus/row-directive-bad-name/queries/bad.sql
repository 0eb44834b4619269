-- name: A :many
-- @row 9bad
SELECT id, title FROM posts;
