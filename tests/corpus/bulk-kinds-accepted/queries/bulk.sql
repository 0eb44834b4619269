-- name: CopyEvents :copyfrom
-- `:kind` fills two columns; a domain, an enum, an array and json.
INSERT INTO public.events AS e (id, "Kind", mirror, label, mood, tags, payload, at)
VALUES (:id, :kind, :kind, :label?, :mood?, :tags, :payload?, :at?);

-- name: CopyPositional :copyfrom
INSERT INTO events (id, "Kind", mirror) VALUES ($1, $2, $2);

-- name: RenameEvents :batchexec
UPDATE events SET "Kind" = :kind WHERE id = :id;

-- name: EventsByMood :batchmany
SELECT id, "Kind" AS kind FROM events WHERE mood = :mood ORDER BY id;

-- name: EventById :batchone
SELECT id, label, payload FROM events WHERE id = :id;

-- name: DeleteReturning :batchexec
DELETE FROM events WHERE id = :id RETURNING id;
