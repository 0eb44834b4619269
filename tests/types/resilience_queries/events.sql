-- name: ListEvents :many
-- Every column: a column added to the table changes the result type.
SELECT * FROM events ORDER BY id;

-- name: CountEvents :one
SELECT count(*) AS total FROM events;

-- name: InsertEventSlowly :exec
-- Sleeps `seconds` before inserting: in flight long enough for a server restart.
INSERT INTO events (id, label) SELECT :id, :label FROM pg_sleep(:seconds);
