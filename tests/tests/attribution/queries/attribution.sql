-- name: GetThing :one
-- One thing by id.
SELECT id, label FROM things WHERE id = :id;

-- name: RenameThing :exec
-- Sets the label of a thing (waits for a row lock held elsewhere).
UPDATE things SET label = :label WHERE id = :id;

-- name: ImportThings :copyfrom
-- Things in bulk, through one binary COPY.
INSERT INTO things (id, label) VALUES (:id, :label);
