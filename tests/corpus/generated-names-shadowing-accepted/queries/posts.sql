-- name: CommentsByPost :many
-- @key post_id
SELECT c.id, c.post_id FROM comments c WHERE c.post_id = ANY(:rows);

-- name: ListPosts :many
-- @row Vec
-- @prefetch columns = CommentsByPost(id)
-- @prefetch db = CommentsByPost(id)
-- @prefetch parent = CommentsByPost(id)
-- @prefetch columns_keys = CommentsByPost(id)
SELECT p.id, p.choice, :conn::text AS conn FROM posts p WHERE p.id > :keyed;
