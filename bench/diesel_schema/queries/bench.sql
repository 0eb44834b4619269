-- Queries of the diesel_bench workload (bench/benches/workload.rs), one per
-- scenario. Generated into bench/src/generated/ by
-- `cargo run -p codegen -- --config bench/quarry.toml`.

-- name: AllUsers :many
-- trivial_query: every user.
SELECT id, name, hair_color FROM users;

-- name: UsersWithPostsByHairColor :many
-- medium_complex_query: users of one hair colour, each with its posts (LEFT JOIN).
SELECT u.id, u.name, u.hair_color,
       p.id AS post_id, p.user_id, p.title, p.body, p.tags, p.nullable_tags
FROM users u
LEFT JOIN posts p ON p.user_id = u.id
WHERE u.hair_color = :hair_color;

-- name: InsertUsers :exec
-- insert: one statement for any number of users, two arrays unnested.
INSERT INTO users (name, hair_color)
SELECT * FROM unnest(:names::text[], :hair_colors::text[]);

-- name: AllUsersWithPosts :many
-- loading_associations: every user with its posts, each post with its comments.
-- @prefetch posts = PostsByUser(id)
SELECT id, name, hair_color FROM users;

-- name: PostsByUser :many
-- The posts of a set of users.
-- @key user_id
-- @prefetch comments = CommentsByPost(id)
SELECT id, user_id, title, body, tags, nullable_tags FROM posts WHERE user_id = ANY(:user_ids);

-- name: CommentsByPost :many
-- The comments of a set of posts.
-- @key post_id
SELECT id, post_id, text FROM comments WHERE post_id = ANY(:post_ids);

-- name: PostsOfUser :many
-- prefetch_vs_n_plus_one, naive loop: the posts of one user.
SELECT id, user_id, title, body, tags, nullable_tags FROM posts WHERE user_id = :user_id;

-- name: CommentsOfPost :many
-- prefetch_vs_n_plus_one, naive loop: the comments of one post.
SELECT id, post_id, text FROM comments WHERE post_id = :post_id;

-- name: UserById :one
-- executors: the one-row lookup each executor kind runs (benches/runtime.rs).
SELECT id, name, hair_color FROM users WHERE id = :id;

-- name: NumberedRows :many
-- streaming: `count` rows of about 100 bytes each, made by the server.
SELECT g AS id, repeat('x', 92) AS payload FROM generate_series(1, :count::int8) AS g;
