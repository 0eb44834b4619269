-- name: Things :many
-- @prefetch parts
SELECT t.id, t.kind FROM things t WHERE t.id = :id;
