-- Nullability corpus: set operations. UNION [ALL]: nullable if either side
-- is; INTERSECT: nullable only if both are; EXCEPT: the left side's.

-- name: UnionAllMixed :many
-- expect: id, name, detail?
SELECT id, name, bio AS detail FROM users
UNION ALL
SELECT id, name, motto FROM teams;

-- name: UnionNullableOnOneSide :many
-- expect: name, detail?
SELECT name, bio AS detail FROM users
UNION
SELECT title, title FROM projects;

-- name: UnionBothNonNull :many
-- expect: label
SELECT name AS label FROM users
UNION
SELECT title FROM projects;

-- name: UnionWithNullLiteral :many
-- expect: id, note?
SELECT id, NULL::text AS note FROM teams
UNION ALL
SELECT id, title FROM projects;

-- name: UnionThreeWays :many
-- expect: id?, kind
SELECT id, 'user' AS kind FROM users
UNION
SELECT id, 'team' FROM teams
UNION
SELECT assignee_id, 'assignee' FROM tasks;

-- name: UnionOfParenthesized :many
-- expect: name
(SELECT name FROM users ORDER BY name LIMIT 1)
UNION ALL
(SELECT name FROM teams ORDER BY name LIMIT 1);

-- name: Intersect :many
-- A row of the result is on both sides: NULL only where both sides may be NULL.
-- expect: team_id?, label
SELECT team_id, bio AS label FROM users
INTERSECT
SELECT team_id, title FROM projects;

-- name: IntersectAll :many
-- expect: id, label
SELECT id, name AS label FROM users
INTERSECT ALL
SELECT owner_id, motto FROM teams JOIN projects ON projects.team_id = teams.id;

-- name: Except :many
-- EXCEPT keeps rows of the left side: its nullability.
-- expect: id, label?
SELECT id, bio AS label FROM users
EXCEPT
SELECT id, title FROM projects;

-- name: ExceptLeftNonNull :many
-- expect: name, team_id?
SELECT name, team_id FROM users
EXCEPT
SELECT motto, id FROM teams;

-- name: UnionInLeftJoinedSubquery :many
-- expect: id, label?
SELECT u.id, s.label
FROM users u
LEFT JOIN (
    SELECT owner_id AS person_id, title AS label FROM projects
    UNION ALL
    SELECT assignee_id, title FROM tasks
) s ON s.person_id = u.id;

-- name: UnionInCte :many
-- expect: person_id?, label
WITH people AS (
    SELECT owner_id AS person_id, title AS label FROM projects
    UNION ALL
    SELECT assignee_id, title FROM tasks
)
SELECT person_id, label FROM people;
