-- name: Q :many
SELECT id FROM postz;
