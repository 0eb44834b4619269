-- name: Q :many
-- Docs.
-- @nulable title
SELECT title FROM posts;
