-- name: Users :many
-- @prefetch orders
-- @prefetch groups
SELECT u.id, u.name FROM "user" u;

-- name: Orders :many
-- @prefetch user
SELECT o.id, o.user_id FROM "order" o;
