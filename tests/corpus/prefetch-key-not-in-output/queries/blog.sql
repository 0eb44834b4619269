
-- name: CommentsByPost :many
-- @key post_id
SELECT c.id, c.post_id, c.body FROM comments c WHERE c.post_id = ANY(:post_ids);

-- name: AuthorsById :one
-- @key id
SELECT a.id, a.name FROM authors a WHERE a.id = ANY(:ids);

-- name: A :many
-- @key post
SELECT c.id, c.post_id FROM comments c WHERE c.post_id = ANY(:ids);

-- name: B :many
-- @key id
SELECT c.id, c.post_id FROM comments c WHERE c.post_id = ANY(:ids::int4[]);
