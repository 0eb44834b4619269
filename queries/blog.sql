-- Blog queries of the Quarry example application.

-- name: LockPostForUpdate :one
-- Locks the post's row until the transaction ends (`FOR UPDATE`): another
-- transaction locking the same post waits for this one to commit or roll back.
SELECT id, title, views
FROM posts
WHERE id = :id
FOR UPDATE;

-- name: GetAuthor :one
-- Fetches an author's profile, including the optional bio and avatar image.
SELECT a.id, a.name, a.email, a.bio, a.avatar
FROM authors a
WHERE a.id = :id;

-- name: AuthorsByIds :one
-- Authors with the given ids, one per id; the batch loader behind posts and comments.
-- @key id
SELECT a.id, a.name, a.email, a.bio
FROM authors a
WHERE a.id = ANY (:ids)
ORDER BY a.id;

-- name: SetAuthorAvatar :exec
-- Sets or (with None) clears an author's avatar image.
UPDATE authors
SET avatar = :avatar?
WHERE id = :id;

-- name: AuthorLeaderboard :many
-- Authors ranked by the total views of their published posts (authors without published posts come last).
SELECT a.id AS author_id, a.name,
       count(p.id) AS post_count,
       COALESCE(sum(p.views), 0)::bigint AS total_views,
       avg(p.views)::float8 AS avg_views,
       row_number() OVER (ORDER BY COALESCE(sum(p.views), 0) DESC, a.id) AS leaderboard_rank
FROM authors a
LEFT JOIN posts p ON p.author_id = a.id AND p.published_at IS NOT NULL
GROUP BY a.id
ORDER BY leaderboard_rank;

-- name: PostsByAuthor :many
-- Posts of the given authors, drafts first and then newest first within an author; the batch loader behind authors.
-- @key author_id
SELECT p.id, p.author_id, p.title, p.published_at, p.views
FROM posts p
WHERE p.author_id = ANY (:author_ids)
ORDER BY p.author_id, p.published_at DESC NULLS FIRST, p.id;

-- name: CreatePost :one
-- Creates a post (a draft when published_at is None) with optional JSON metadata; the uuid is generated.
INSERT INTO posts (author_id, title, body, published_at, metadata)
VALUES (:author_id, :title, :body, :published_at?, :metadata?)
RETURNING id, uuid, author_id, title, published_at, views, metadata;

-- name: GetPostByUuid :opt
-- Looks a post up by its public uuid, with its author's name; None when unknown.
SELECT p.id, p.uuid, p.title, p.body, p.published_at, p.views, p.metadata,
       a.id AS author_id, a.name AS author_name
FROM posts p
JOIN authors a ON a.id = p.author_id
WHERE p.uuid = :uuid;

-- name: ListPublishedPosts :many
-- Newest posts published at or before `as_of`, at most `limit` of them.
SELECT p.id, p.uuid, p.title, p.author_id, p.published_at, p.views
FROM posts p
WHERE p.published_at IS NOT NULL AND p.published_at <= :as_of
ORDER BY p.published_at DESC, p.id DESC
LIMIT :limit;

-- name: PublishPost :opt
-- Publishes a draft; None if the post does not exist or is already published.
UPDATE posts
SET published_at = :published_at
WHERE id = :id AND published_at IS NULL
RETURNING id, title, published_at;

-- name: IncrementPostViews :exec
-- Counts one more view of the post with the given uuid.
UPDATE posts
SET views = views + 1
WHERE uuid = :uuid;

-- name: PostsWithCommentCounts :many
-- Posts with their author, number of comments and latest comment time, keeping those with at least `min_comments` comments.
SELECT p.id, p.title, a.name AS author_name,
       count(c.id) AS comment_count,
       max(c.created_at) AS last_comment_at
FROM posts p
JOIN authors a ON a.id = p.author_id
LEFT JOIN comments c ON c.post_id = p.id
GROUP BY p.id, a.id
HAVING count(c.id) >= :min_comments
ORDER BY comment_count DESC, p.id;

-- name: PostsByTag :many
-- Posts carrying the named tag, newest first, drafts last.
SELECT p.id, p.title, p.published_at, a.name AS author_name
FROM tags t
JOIN post_tags pt ON pt.tag_id = t.id
JOIN posts p ON p.id = pt.post_id
JOIN authors a ON a.id = p.author_id
WHERE t.name = :tag
ORDER BY p.published_at DESC NULLS LAST, p.id;

-- name: SearchPostsByMetadata :many
-- Posts whose JSON metadata contains the given JSON document (e.g. {"lang": "en"}).
SELECT p.id, p.title, p.metadata,
       p.metadata ->> 'lang' AS lang,
       (p.metadata -> 'reading_minutes')::int AS reading_minutes
FROM posts p
WHERE p.metadata @> :filter
ORDER BY p.id;

-- name: AuthorPostTimeline :many
-- Published posts of the given authors in publication order, with the previous title, days since the previous post and cumulative views.
SELECT p.author_id, p.id AS post_id, p.title,
       (p.published_at AT TIME ZONE 'UTC')::date AS published_on,
       p.views,
       lag(p.title) OVER (PARTITION BY p.author_id ORDER BY p.published_at, p.id) AS previous_title,
       (p.published_at AT TIME ZONE 'UTC')::date
         - lag((p.published_at AT TIME ZONE 'UTC')::date) OVER (PARTITION BY p.author_id ORDER BY p.published_at, p.id)
         AS days_since_previous,
       sum(p.views) OVER (PARTITION BY p.author_id ORDER BY p.published_at, p.id)::bigint AS cumulative_views
FROM posts p
WHERE p.published_at IS NOT NULL
  AND p.author_id = ANY (:author_ids)
ORDER BY p.author_id, p.published_at, p.id;

-- name: CommentsByPost :many
-- Comments of the given posts, oldest first within a post, with the commenter's name
-- and profile (both NULL for anonymous comments).
-- @key post_id
-- @prefetch commenter = AuthorsByIds(author_id)
SELECT c.id, c.post_id, c.author_id, a.name AS author_name, c.body, c.created_at
FROM comments c
LEFT JOIN authors a ON a.id = c.author_id
WHERE c.post_id = ANY (:post_ids)
ORDER BY c.post_id, c.created_at, c.id;

-- name: AddComment :one
-- Adds a comment to a post; author_id None makes it anonymous.
INSERT INTO comments (post_id, author_id, body, created_at)
VALUES (:post_id, :author_id?, :body, :created_at)
RETURNING id, post_id, author_id, body, created_at;

-- name: DeleteComment :exec
-- Deletes a comment; returns the number of deleted rows (0 or 1).
DELETE FROM comments
WHERE id = :id;

-- name: UpsertTag :one
-- Returns the tag with the given name, creating it if needed.
INSERT INTO tags (name)
VALUES (:name)
ON CONFLICT (name) DO UPDATE
SET name = EXCLUDED.name
RETURNING id, name;

-- name: TagPost :exec
-- Attaches a tag to a post; attaching it twice is a no-op (0 rows).
INSERT INTO post_tags (post_id, tag_id)
VALUES (:post_id, :tag_id)
ON CONFLICT DO NOTHING;

-- name: TagsByPost :many
-- Tags of the given posts, alphabetically within a post; the batch loader through the post_tags junction.
-- @key post_id
SELECT pt.post_id, t.id, t.name
FROM post_tags pt
JOIN tags t ON t.id = pt.tag_id
WHERE pt.post_id = ANY (:post_ids)
ORDER BY pt.post_id, t.name;

-- name: ListPostsWithRelations :many
-- Published posts, newest first, with their comments, their author and their tags.
-- Comments (with their commenters) come from explicit loaders; author (a foreign
-- key of posts) and tags (through the post_tags junction table) are derived from
-- the schema. Five statements in all, whatever the number of posts.
-- @prefetch comments = CommentsByPost(id)
-- @prefetch author
-- @prefetch tags
SELECT p.id, p.author_id, p.title, p.published_at, p.views
FROM posts p
WHERE p.published_at IS NOT NULL
ORDER BY p.published_at DESC, p.id
LIMIT :limit;

-- name: AddPostView :one
-- Counts one more view of a post and returns the new count.
UPDATE posts
SET views = views + 1
WHERE id = :id
RETURNING views;
