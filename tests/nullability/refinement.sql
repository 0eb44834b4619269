-- Nullability corpus: refinement by the WHERE clause. A top-level
-- `x IS NOT NULL`, or a strict comparison on `x` in a top-level AND, only
-- lets rows through where `x` is not NULL — also on the outer-joined side,
-- whose NOT NULL columns then are non-null too (the row matched).

-- name: WhereIsNotNull :many
-- expect: id, bio, age?
SELECT id, bio, age FROM users WHERE bio IS NOT NULL;

-- name: WhereStrictComparisons :many
-- expect: id, age, team_id, nick, bio?
SELECT id, age, team_id, nick, bio
FROM users
WHERE age > 18 AND team_id = :team_id AND nick LIKE 'a%';

-- name: WhereComparedWithNullableParam :many
-- `age = NULL` is never true: the rows that pass have a non-null age.
-- expect: id, age
SELECT id, age FROM users WHERE age = :age?;

-- name: WhereInAndBetween :many
-- expect: id, age, team_id
SELECT id, age, team_id FROM users WHERE age BETWEEN 18 AND 65 AND team_id IN (1, 2, 3);

-- name: WhereOrDoesNotRefine :many
-- expect: id, bio?
SELECT id, bio FROM users WHERE bio IS NOT NULL OR score > 0;

-- name: WhereIsDistinctFromDoesNotRefine :many
-- expect: id, age?
SELECT id, age FROM users WHERE age IS DISTINCT FROM 5;

-- name: WhereIsNullOrComparison :many
-- expect: id, age?
SELECT id, age FROM users WHERE age IS NULL OR age > 3;

-- name: WhereLeftJoinedIsNotNull :many
-- The team matched: its NOT NULL columns are non-null, motto stays nullable.
-- expect: id, team_id, team_name, motto?
SELECT u.id, t.id AS team_id, t.name AS team_name, t.motto
FROM users u
LEFT JOIN teams t ON t.id = u.team_id
WHERE t.id IS NOT NULL;

-- name: WhereLeftJoinedComparison :many
-- expect: name, title, budget
SELECT u.name, p.title, p.budget
FROM users u
LEFT JOIN projects p ON p.owner_id = u.id
WHERE p.budget > 100;

-- name: WhereLeftJoinedNullableColumnLike :many
-- expect: id, motto, team_name
SELECT u.id, t.motto, t.name AS team_name
FROM users u
LEFT JOIN teams t ON t.id = u.team_id
WHERE t.motto ILIKE '%x%';

-- name: WhereAntiJoin :many
-- `IS NULL` on the outer side: no refinement (the columns are in fact NULL).
-- expect: id, project_id?, title?
SELECT u.id, p.id AS project_id, p.title
FROM users u
LEFT JOIN projects p ON p.owner_id = u.id
WHERE p.id IS NULL;

-- name: WhereAfterRightJoin :many
-- expect: title, name
SELECT p.title, t.name
FROM projects p
RIGHT JOIN teams t ON t.id = p.team_id
WHERE p.title <> '';

-- name: WhereRefinesOneOfTwoOuterSides :many
-- Only the side the WHERE constrains matched.
-- expect: name, team_name, project_title?
SELECT u.name, t.name AS team_name, p.title AS project_title
FROM users u
LEFT JOIN teams t ON t.id = u.team_id
LEFT JOIN projects p ON p.owner_id = u.id
WHERE t.name = :team_name;

-- name: WhereInsideCte :many
-- expect: id, bio
WITH described AS (SELECT id, bio FROM users WHERE bio IS NOT NULL)
SELECT described.id, described.bio FROM described;

-- name: WhereInsideSubqueryOnly :many
-- A refinement inside a derived table does not reach a LEFT JOIN around it.
-- expect: id, bio?
SELECT t.id, s.bio
FROM teams t
LEFT JOIN (SELECT team_id, bio FROM users WHERE bio IS NOT NULL) s ON s.team_id = t.id;
