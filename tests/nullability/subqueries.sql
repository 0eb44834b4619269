-- Nullability corpus: scalar subqueries and nested derived tables. A scalar
-- subquery is NULL when it returns no row — except an aggregate-only SELECT
-- without GROUP BY (and without HAVING/LIMIT/OFFSET), which returns exactly one.

-- name: ScalarSubqueries :many
-- expect: id, n_projects, max_budget?, team_name?, first_title?
SELECT u.id,
       (SELECT count(*) FROM projects p WHERE p.owner_id = u.id) AS n_projects,
       (SELECT max(p.budget) FROM projects p WHERE p.owner_id = u.id) AS max_budget,
       (SELECT t.name FROM teams t WHERE t.id = u.team_id) AS team_name,
       (SELECT p.title FROM projects p WHERE p.owner_id = u.id ORDER BY p.id LIMIT 1) AS first_title
FROM users u;

-- name: ScalarSubqueryShapes :one
-- expect: n_tasks, grouped_count?, total_hours, raw_total?, having_count?, offset_count?
SELECT (SELECT count(*) FROM tasks) AS n_tasks,
       (SELECT count(*) FROM tasks GROUP BY project_id ORDER BY 1 LIMIT 1) AS grouped_count,
       (SELECT coalesce(sum(hours), 0) FROM tasks) AS total_hours,
       (SELECT sum(hours) FROM tasks) AS raw_total,
       (SELECT count(*) FROM tasks HAVING count(*) > 5) AS having_count,
       (SELECT count(*) FROM tasks OFFSET :skip) AS offset_count;

-- name: ScalarSubqueryInExpressions :many
-- expect: id, team_name, weighted
SELECT u.id,
       coalesce((SELECT t.name FROM teams t WHERE t.id = u.team_id), 'none') AS team_name,
       u.score + (SELECT count(*) FROM tasks t WHERE t.assignee_id = u.id) AS weighted
FROM users u;

-- name: ExistsInWhere :many
-- expect: id, budget?
SELECT p.id, p.budget
FROM projects p
WHERE EXISTS (SELECT 1 FROM tasks t WHERE t.project_id = p.id);

-- name: SubqueryNullLiteral :many
-- expect: id, marker?
SELECT s.id, s.marker FROM (SELECT id, NULL::text AS marker FROM teams) s;

-- name: NestedDerivedTables :many
-- expect: id, total
SELECT x.id, x.total
FROM (
    SELECT y.id, y.total
    FROM (
        SELECT p.owner_id AS id, sum(t.hours) AS total
        FROM projects p
        JOIN tasks t ON t.project_id = p.id
        GROUP BY p.owner_id
    ) y
) x;

-- name: SubqueryWithOuterJoinInside :many
-- expect: task_title, assignee?
SELECT s.task_title, s.assignee
FROM (
    SELECT t.title AS task_title, u.name AS assignee
    FROM tasks t
    LEFT JOIN users u ON u.id = t.assignee_id
) s;

-- name: CteReadTwice :many
-- The same CTE inner-joined once and outer-joined once.
-- expect: id, name, manager_name?
WITH people AS (SELECT id, name, manager_id FROM users)
SELECT a.id, a.name, b.name AS manager_name
FROM people a
LEFT JOIN people b ON b.id = a.manager_id;
