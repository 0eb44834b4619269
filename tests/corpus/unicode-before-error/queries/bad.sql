-- name: Q :one
SELECT 'héllo wörld 🎉' AS s, titl FROM posts;
