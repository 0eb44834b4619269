-- name: Q :many
SELECT id
-- @not_null id
FROM posts;
