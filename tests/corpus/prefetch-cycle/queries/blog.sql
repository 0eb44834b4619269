
-- name: CommentsByPost :many
-- @key post_id
SELECT c.id, c.post_id, c.body FROM comments c WHERE c.post_id = ANY(:post_ids);

-- name: AuthorsById :one
-- @key id
SELECT a.id, a.name FROM authors a WHERE a.id = ANY(:ids);

-- name: PostsById :one
-- @key id
-- @prefetch comments = CommentsOfPosts(id)
SELECT p.id FROM posts p WHERE p.id = ANY(:ids);

-- name: CommentsOfPosts :many
-- @key post_id
-- @prefetch post = PostsById(post_id)
SELECT c.id, c.post_id FROM comments c WHERE c.post_id = ANY(:ids);
