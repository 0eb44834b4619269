-- name: Q :many
-- @not_null title, bdy
SELECT title, body FROM posts;
