-- name: GetAttrs :one
SELECT id, attrs FROM kv WHERE id = :id;

-- name: SetAttrs :exec
UPDATE kv SET attrs = :attrs WHERE id = :id;

-- name: GetSpans :one
SELECT spans FROM kv WHERE id = :id;
