-- name: Q :one
SELECT '
-- name: Inner :one
' AS text;
