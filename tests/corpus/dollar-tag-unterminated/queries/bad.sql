-- name: Q :one
SELECT $tag$abc$ta$ AS x;
