-- Nullability corpus: user overrides win over inference. The expect line
-- states the final answer after the override.

-- name: AliasOverrides :many
-- The team exists (inner join), so its name looked up again is non-null.
-- expect: id, team_name, name?
SELECT u.id,
       (SELECT t.name FROM teams t WHERE t.id = u.team_id) AS "team_name!",
       u.name AS "name?"
FROM users u
JOIN teams t2 ON t2.id = u.team_id;

-- name: DirectiveOverrides :many
-- @not_null first_title
-- @nullable id
-- expect: id?, first_title, bio?
SELECT u.id,
       (SELECT p.title FROM projects p WHERE p.owner_id = u.id ORDER BY p.id LIMIT 1) AS first_title,
       u.bio
FROM users u
WHERE EXISTS (SELECT 1 FROM projects p WHERE p.owner_id = u.id);

-- name: OverrideNullableOnCount :one
-- expect: n?
SELECT count(*) AS "n?" FROM users;

-- name: OverrideNotNullThroughForeignKey :many
-- users.team_id references teams: when it is set, the team exists.
-- expect: id, team_name
SELECT u.id, t.name AS "team_name!"
FROM users u
LEFT JOIN teams t ON t.id = u.team_id
WHERE u.team_id IS NOT NULL;
