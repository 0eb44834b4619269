-- name: Q :many
SELECT id FROM posts
WHERE author_id = sqlc.arg(author)
  AND (editor_id = sqlc.narg(editor) OR sqlc.narg(editor) IS NULL)
  AND (body = :body? OR :body? IS NULL)
  AND views > @min_views;
