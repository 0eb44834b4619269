-- Nullability corpus: joins of every kind and nesting. Each query's
-- `-- expect:` line lists every output column in order; `?` marks the ones
-- that may be NULL.

-- name: InnerJoin :many
-- expect: id, title, owner_name, owner_bio?
SELECT p.id, p.title, u.name AS owner_name, u.bio AS owner_bio
FROM projects p
JOIN users u ON u.id = p.owner_id;

-- name: LeftJoin :many
-- expect: id, name, team_id?, team_name?
SELECT u.id, u.name, t.id AS team_id, t.name AS team_name
FROM users u
LEFT JOIN teams t ON t.id = u.team_id;

-- name: RightJoin :many
-- expect: user_name?, team_id, team_name
SELECT u.name AS user_name, t.id AS team_id, t.name AS team_name
FROM users u
RIGHT JOIN teams t ON t.id = u.team_id;

-- name: FullJoin :many
-- expect: user_id?, user_name?, team_id?, team_name?
SELECT u.id AS user_id, u.name AS user_name, t.id AS team_id, t.name AS team_name
FROM users u
FULL JOIN teams t ON t.id = u.team_id;

-- name: CrossJoin :many
-- expect: user_name, team_name, motto?
SELECT u.name AS user_name, t.name AS team_name, t.motto
FROM users u
CROSS JOIN teams t;

-- name: CommaJoin :many
-- expect: id, name, motto?
SELECT u.id, t.name, t.motto
FROM users u, teams t
WHERE t.id = u.team_id;

-- name: InnerJoinOnRefines :many
-- An inner join's ON condition filters like WHERE: a row exists only when
-- t.assignee_id = u.id holds, so t.assignee_id is not NULL.
-- expect: id, assignee_id, assignee_name
SELECT t.id, t.assignee_id, u.name AS assignee_name
FROM tasks t
JOIN users u ON u.id = t.assignee_id;

-- name: InnerThenLeft :many
-- `(a JOIN b) LEFT JOIN c`
-- expect: title, project_title, assignee?
SELECT t.title, p.title AS project_title, u.name AS assignee
FROM (tasks t JOIN projects p ON p.id = t.project_id)
LEFT JOIN users u ON u.id = t.assignee_id;

-- name: LeftJoinOfInnerJoin :many
-- `a LEFT JOIN (b JOIN c)`: both b and c are on the nullable side.
-- expect: name, project_title?, team_name?
SELECT u.name, p.title AS project_title, t.name AS team_name
FROM users u
LEFT JOIN (projects p JOIN teams t ON t.id = p.team_id) ON p.owner_id = u.id;

-- name: LeftJoinChain :many
-- expect: title, assignee?, team_name?
SELECT t.title, a.name AS assignee, tm.name AS team_name
FROM tasks t
LEFT JOIN users a ON a.id = t.assignee_id
LEFT JOIN teams tm ON tm.id = a.team_id;

-- name: LeftJoinSubquery :many
-- expect: id, project_title?, starts_on?
SELECT u.id, s.title AS project_title, s.starts_on
FROM users u
LEFT JOIN (SELECT owner_id, title, starts_on FROM projects) s ON s.owner_id = u.id;

-- name: LeftJoinCte :many
-- expect: id, title, project_title?
WITH big AS (SELECT id, title FROM projects WHERE budget > 1000)
SELECT t.id, t.title, big.title AS project_title
FROM tasks t
LEFT JOIN big ON big.id = t.project_id;

-- name: CteWithOuterJoinInside :many
-- The outer join inside the CTE makes team_name nullable for its readers.
-- expect: id, name, team_name?
WITH ut AS (
    SELECT u.id, u.name, t.name AS team_name
    FROM users u
    LEFT JOIN teams t ON t.id = u.team_id
)
SELECT ut.id, ut.name, ut.team_name FROM ut;

-- name: RightJoinSubquery :many
-- expect: title?, team_id
SELECT s.title, t.id AS team_id
FROM (SELECT title, team_id FROM projects) s
RIGHT JOIN teams t ON t.id = s.team_id;

-- name: SelfJoinLeft :many
-- The same table twice: `c` inner, `parent` outer-joined.
-- expect: id, name, manager_name?, manager_id?
SELECT c.id, c.name, parent.name AS manager_name, parent.id AS manager_id
FROM users c
LEFT JOIN users parent ON parent.id = c.manager_id;

-- name: SelfJoinInner :many
-- expect: title, parent_title, parent_id
SELECT child.title, parent.title AS parent_title, parent.id AS parent_id
FROM tasks child
JOIN tasks parent ON parent.id = child.parent_id;

-- name: SelfJoinRight :many
-- expect: child_title?, title
SELECT child.title AS child_title, parent.title
FROM tasks child
RIGHT JOIN tasks parent ON parent.id = child.parent_id;

-- name: JoinUsing :many
-- The merged USING column of an inner join: the equality held, so not NULL.
-- expect: team_id, name, title
SELECT team_id, u.name, p.title
FROM users u
JOIN projects p USING (team_id);

-- name: LeftJoinUsing :many
-- LEFT JOIN USING: the merged column is the left one.
-- expect: id, name, n_projects?
SELECT id, u.name, s.n_projects
FROM users u
LEFT JOIN (SELECT owner_id AS id, count(*) AS n_projects FROM projects GROUP BY owner_id) s
    USING (id);

-- name: RightJoinUsing :many
-- RIGHT JOIN USING: the merged column is the right one.
-- expect: id, name?, n_projects
SELECT id, u.name, s.n_projects
FROM users u
RIGHT JOIN (SELECT owner_id AS id, count(*) AS n_projects FROM projects GROUP BY owner_id) s
    USING (id);

-- name: FullJoinUsing :many
-- FULL JOIN USING: the merged column is COALESCE(left, right), both non-null here.
-- expect: id, name?, n_projects?
SELECT id, u.name, s.n_projects
FROM users u
FULL JOIN (SELECT owner_id AS id, count(*) AS n_projects FROM projects GROUP BY owner_id) s
    USING (id);

-- name: FullJoinUsingNullableKey :many
-- expect: team_id?, user_name?, title?
SELECT team_id, u.name AS user_name, p.title
FROM users u
FULL JOIN projects p USING (team_id);

-- name: RightJoinAfterInner :many
-- A later RIGHT JOIN makes every earlier table nullable.
-- expect: title?, owner_name?, team_name
SELECT p.title, u.name AS owner_name, t.name AS team_name
FROM projects p
JOIN users u ON u.id = p.owner_id
RIGHT JOIN teams t ON t.id = p.team_id;

-- name: RightJoinAfterLeft :many
-- expect: name?, team_name?, title
SELECT u.name, t.name AS team_name, p.title
FROM users u
LEFT JOIN teams t ON t.id = u.team_id
RIGHT JOIN projects p ON p.owner_id = u.id;

-- name: LeftJoinAfterFull :many
-- expect: user_name?, team_name?, project_title?
SELECT u.name AS user_name, t.name AS team_name, p.title AS project_title
FROM users u
FULL JOIN teams t ON t.id = u.team_id
LEFT JOIN projects p ON p.team_id = t.id;

-- name: InnerJoinAfterLeftKeepsLeftNullable :many
-- An inner join after a LEFT JOIN does not undo it for columns it does not constrain.
-- expect: name, team_name?, title
SELECT u.name, t.name AS team_name, p.title
FROM users u
LEFT JOIN teams t ON t.id = u.team_id
JOIN projects p ON p.owner_id = u.id;
