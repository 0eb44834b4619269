-- name: PostsByAuthor :batchmany
-- @prefetch comments
-- @chunk 10
SELECT id, title FROM posts WHERE author_id = :author_id;

-- name: PostsById :batchone
-- @key id
SELECT id, title FROM posts WHERE id = :id;

-- name: CopyTags :copyfrom
-- @prefetch posts
INSERT INTO tags (label) VALUES (:label);
