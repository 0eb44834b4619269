-- Nullability corpus: FROM items of every kind. Each query's `-- expect:` line
-- lists every output column in order; `?` marks the ones that may be NULL.

-- name: FromTable :many
-- A base table: columns follow their NOT NULL.
-- expect: id, name, bio?, team_id?
SELECT id, name, bio, team_id FROM users;

-- name: FromTableAlias :many
-- expect: id, age?, score, mood, prev_mood?, created_at, deleted_at?
SELECT u.id, u.age, u.score, u.mood, u.prev_mood, u.created_at, u.deleted_at
FROM users u;

-- name: FromViewSimple :many
-- A view without outer joins: traced to its base columns.
-- expect: id, name, bio?
SELECT id, name, bio FROM active_users;

-- name: FromViewLeftJoin :many
-- A view whose definition LEFT JOINs teams: the team side is nullable.
-- expect: user_id, user_name, team_id?, team_name?, motto?
SELECT user_id, user_name, team_id, team_name, motto FROM user_teams;

-- name: FromSubquery :many
-- expect: id, title, budget?
SELECT s.id, s.title, s.budget
FROM (SELECT id, title, budget FROM projects WHERE starts_on > '2020-01-01') AS s;

-- name: FromSubqueryComputed :many
-- An aggregate-only subquery always yields one row: count non-null, max nullable.
-- expect: n, label?
SELECT s.n, s.label
FROM (SELECT count(*) AS n, max(title) AS label FROM projects) s;

-- name: FromCte :many
-- expect: id, title, ends_on?
WITH p AS (SELECT id, title, ends_on FROM projects)
SELECT p.id, p.title, p.ends_on FROM p;

-- name: FromCteChain :many
-- A CTE reading another CTE.
-- expect: id, shout, motto_len?
WITH a AS (SELECT id, name, motto FROM teams),
     b AS (SELECT id, upper(name) AS shout, length(motto) AS motto_len FROM a)
SELECT b.id, b.shout, b.motto_len FROM b;

-- name: RecursiveCte :many
-- The seed's parent_id is NULL (filtered IS NULL), so the union is nullable;
-- depth is 0 in the seed and depth + 1 of a non-null depth in the recursive term.
-- expect: id, parent_id?, title, depth
WITH RECURSIVE tree AS (
    SELECT id, parent_id, title, 0 AS depth FROM tasks WHERE parent_id IS NULL
    UNION ALL
    SELECT t.id, t.parent_id, t.title, tree.depth + 1
    FROM tasks t
    JOIN tree ON t.parent_id = tree.id
)
SELECT id, parent_id, title, depth FROM tree;

-- name: RecursiveCteNullable :many
-- The recursive term contributes a NULL top_name.
-- expect: id, manager_id?, name, top_name?
WITH RECURSIVE chain AS (
    SELECT id, manager_id, name, name AS top_name FROM users WHERE id = :id
    UNION ALL
    SELECT u.id, u.manager_id, u.name, NULL::text
    FROM users u
    JOIN chain c ON u.id = c.manager_id
)
SELECT id, manager_id, name, top_name FROM chain;

-- name: DataModifyingCteDelete :many
-- expect: id, title, note?
WITH d AS (DELETE FROM tasks WHERE done RETURNING id, title, note)
SELECT d.id, d.title, d.note FROM d;

-- name: DataModifyingCteInsert :many
-- expect: id, name, motto?, name_len
WITH ins AS (INSERT INTO teams (name) VALUES (:name) RETURNING id, name, motto)
SELECT ins.id, ins.name, ins.motto, length(ins.name) AS name_len FROM ins;

-- name: DataModifyingCteUpdateLeftJoin :many
-- expect: id, title, assignee_name?
WITH upd AS (
    UPDATE tasks SET done = true WHERE project_id = :project_id
    RETURNING id, assignee_id, title
)
SELECT upd.id, upd.title, usr.name AS assignee_name
FROM upd
LEFT JOIN users usr ON usr.id = upd.assignee_id;

-- name: CrossJoinLateralSubquery :many
-- An inner LATERAL join: the subquery's NOT NULL columns stay non-null.
-- expect: id, last_title, last_note?
SELECT p.id, last_task.title AS last_title, last_task.note AS last_note
FROM projects p
CROSS JOIN LATERAL (
    SELECT t.title, t.note FROM tasks t WHERE t.project_id = p.id ORDER BY t.id DESC LIMIT 1
) AS last_task;

-- name: LeftJoinLateralSubquery :many
-- expect: id, last_title?, last_hours?
SELECT p.id, lt.title AS last_title, lt.hours AS last_hours
FROM projects p
LEFT JOIN LATERAL (
    SELECT t.title, t.hours FROM tasks t WHERE t.project_id = p.id ORDER BY t.id DESC LIMIT 1
) lt ON true;

-- name: LateralAggregate :many
-- The lateral subquery is aggregate-only (one row per project): count
-- non-null, sum over possibly no task nullable.
-- expect: id, n_tasks, total_hours?
SELECT p.id, stats.n_tasks, stats.total_hours
FROM projects p,
LATERAL (
    SELECT count(*) AS n_tasks, sum(t.hours) AS total_hours
    FROM tasks t WHERE t.project_id = p.id
) stats;

-- name: LateralFunction :many
-- generate_series with non-null bounds yields non-null values.
-- expect: id, n
SELECT p.id, g.n
FROM projects p
CROSS JOIN LATERAL generate_series(1::bigint, p.id) AS g(n);

-- name: LeftJoinLateralFunction :many
-- expect: id, tag?
SELECT u.id, x.tag
FROM users u
LEFT JOIN LATERAL unnest(u.tags) AS x(tag) ON true;

-- name: UnnestColumn :many
-- Elements of a NOT NULL array column may themselves be NULL ('{a,NULL}').
-- expect: id, tag?
SELECT u.id, x.tag
FROM users u
CROSS JOIN LATERAL unnest(u.tags) AS x(tag);

-- name: UnnestParam :many
-- A non-null array parameter is bound from a Rust slice (`&[i64]`): its
-- elements cannot be NULL. WITH ORDINALITY numbers are never NULL.
-- expect: id, ord
SELECT k.id, k.ord
FROM unnest(:ids::bigint[]) WITH ORDINALITY AS k(id, ord);

-- name: UnnestTwoArrays :many
-- Multi-argument unnest pads the shorter array with NULLs.
-- expect: a?, b?
SELECT z.a, z.b FROM unnest(:xs::int[], :ys::text[]) AS z(a, b);

-- name: FromValues :many
-- expect: n, label?
SELECT v.n, v.label FROM (VALUES (1, 'one'), (2, NULL)) AS v(n, label);

-- name: ValuesLeftJoin :many
-- expect: code, name?
SELECT v.code, t.name
FROM (VALUES ('a'), ('b')) AS v(code)
LEFT JOIN teams t ON t.name = v.code;

-- name: ValuesStatement :many
-- A bare VALUES statement.
-- expect: column1, column2?
VALUES (1, 'x'), (2, NULL);

-- name: GenerateSeries :many
-- expect: n
SELECT g AS n FROM generate_series(1, 10) AS g;

-- name: GenerateSeriesDays :many
-- One row per day, with the number of projects starting that day.
-- expect: day, n
SELECT d::date AS day, count(p.id) AS n
FROM generate_series(:first_day::date, :last_day::date, interval '1 day') AS d
LEFT JOIN projects p ON p.starts_on = d::date
GROUP BY d
ORDER BY d;

-- name: GenerateSeriesLeftJoin :many
-- expect: n, title?
SELECT g.n, t.title
FROM generate_series(1, :count::int) AS g(n)
LEFT JOIN tasks t ON t.id = g.n;
