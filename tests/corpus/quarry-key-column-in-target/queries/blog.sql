-- name: Posts :many
-- @prefetch tags
SELECT p.id, p.title FROM posts p;
