-- name: ItemsByName :many
SELECT id, name FROM items WHERE name = :name;
