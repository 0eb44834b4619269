-- name: UpsertThings :many
-- Every way an item's field goes into its array: copied (bigint, enum,
-- numeric, timestamptz), borrowed (text, bytea), cloned (jsonb, a domain).
INSERT INTO things (id, name, blob, doc, mood, label, price, at)
SELECT * FROM unnest(
    :ids::bigint[], :names::text[], :blobs::bytea[], :docs::jsonb[], :moods::mood[],
    :labels::label[], :prices::numeric[], :ats::timestamptz[]
)
ON CONFLICT (id) DO UPDATE SET name = excluded.name
RETURNING id, name;

-- name: SetNames :exec
-- Fields named by the alias, columns in another order than the parameters,
-- a nullable array parameter.
UPDATE things SET name = u.name
FROM unnest(:names::text[], :ids?::bigint[]) AS u(name, id)
WHERE things.id = u.id;

-- name: MoveThings :exec
-- A composite element (cloned) is expanded into its fields by unnest: the
-- alias lists more columns than there are parameters, which then name the
-- fields.
UPDATE things SET spot = ROW(u.x, u.y)::point2
FROM unnest(:ids::bigint[], :spots::point2[]) AS u(id, x, y)
WHERE things.id = u.id;

-- name: LockThings :many
-- Row locks: the row-wise form takes a transaction as well. An alias
-- column that is no field name: the parameters name the fields.
SELECT t.id FROM things t JOIN unnest(:ids::bigint[]) AS u("Id") ON t.id = u."Id"
FOR UPDATE OF t;

-- name: NotRowWise :many
-- A parameter used twice: no row-wise form.
SELECT u.id FROM unnest(:ids::bigint[]) AS u(id) WHERE u.id <> ALL(:ids);
