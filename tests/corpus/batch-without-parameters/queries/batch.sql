-- name: TouchAll :batchexec
UPDATE posts SET views = views + 1;

-- name: AllTags :batchmany
SELECT id, label FROM tags;

-- name: FirstTag :batchone
SELECT id, label FROM tags ORDER BY id LIMIT 1;

-- name: RenameTag :batchmany
-- A batch of row kinds on a statement that returns no rows is an error.
UPDATE tags SET label = :label WHERE id = :id;
