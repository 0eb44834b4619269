-- name: Age :many
SELECT point(1, 2) AS age FROM posts;
