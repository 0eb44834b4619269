-- Nullability corpus: aggregates. Without GROUP BY the input may be empty,
-- so every aggregate but count is nullable; with GROUP BY every group has a
-- row, so an aggregate of a non-null argument is non-null — unless FILTER
-- may leave a group without rows. Grouping sets make their keys nullable.

-- name: AggregatesWithoutGroupBy :one
-- expect: n, n_bio, total?, mean?, first_name?, oldest?, names?, joined?, all_positive?, ids_json?
SELECT count(*) AS n, count(bio) AS n_bio, sum(score) AS total, avg(score) AS mean,
       min(name) AS first_name, max(age) AS oldest, array_agg(name) AS names,
       string_agg(name, ',') AS joined, bool_and(score > 0) AS all_positive,
       json_agg(id) AS ids_json
FROM users;

-- name: AggregatesGroupBy :many
-- expect: team_id?, n, total, mean, first_name, last_created, names, joined, all_positive, ids_json
SELECT team_id, count(*) AS n, sum(score) AS total, avg(score) AS mean,
       min(name) AS first_name, max(created_at) AS last_created,
       array_agg(name ORDER BY name) AS names, string_agg(name, ', ') AS joined,
       bool_and(score > 0) AS all_positive, json_agg(id) AS ids_json
FROM users
GROUP BY team_id;

-- name: AggregatesGroupByNullableArgs :many
-- expect: team_id?, n_age, total_age?, mean_age?, first_bio?, bios?, last_deleted?
SELECT team_id, count(age) AS n_age, sum(age) AS total_age, avg(age) AS mean_age,
       min(bio) AS first_bio, string_agg(bio, ',') AS bios, max(deleted_at) AS last_deleted
FROM users
GROUP BY team_id;

-- name: AggregateFilter :many
-- FILTER may leave a group without rows: count stays non-null, the rest is nullable.
-- expect: project_id, n_done, done_hours?, open_title?, total_hours
SELECT project_id, count(*) FILTER (WHERE done) AS n_done,
       sum(hours) FILTER (WHERE done) AS done_hours,
       max(title) FILTER (WHERE NOT done) AS open_title,
       sum(hours) AS total_hours
FROM tasks
GROUP BY project_id;

-- name: GroupByOverLeftJoin :many
-- The argument comes from the outer-joined side: nullable even with GROUP BY.
-- expect: id, title, n_tasks, hours?, last_title?
SELECT p.id, p.title, count(t.id) AS n_tasks, sum(t.hours) AS hours, max(t.title) AS last_title
FROM projects p
LEFT JOIN tasks t ON t.project_id = p.id
GROUP BY p.id, p.title;

-- name: GroupByOverInnerJoins :many
-- expect: name, n, hours, first_start
SELECT u.name, count(*) AS n, sum(t.hours) AS hours, min(p.starts_on) AS first_start
FROM tasks t
JOIN projects p ON p.id = t.project_id
JOIN users u ON u.id = p.owner_id
GROUP BY u.name;

-- name: GroupByExpressions :many
-- expect: lname, day, n
SELECT lower(name) AS lname, date_trunc('day', created_at) AS day, count(*) AS n
FROM users
GROUP BY lower(name), date_trunc('day', created_at);

-- name: GroupByOrdinal :many
-- expect: mood, n, best
SELECT mood, count(*) AS n, max(score) AS best FROM users GROUP BY 1;

-- name: GroupingSets :many
-- The empty grouping set yields a row even for an empty table.
-- expect: team_id?, mood?, n, total?
SELECT team_id, mood, count(*) AS n, sum(score) AS total
FROM users
GROUP BY GROUPING SETS ((team_id), (mood), ());

-- name: Rollup :many
-- expect: owner_id?, starts_on?, n, last_title?
SELECT owner_id, starts_on, count(*) AS n, max(title) AS last_title
FROM projects
GROUP BY ROLLUP (owner_id, starts_on);

-- name: Cube :many
-- expect: done?, project_id?, n, level
SELECT done, project_id, count(*) AS n, grouping(done, project_id) AS level
FROM tasks
GROUP BY CUBE (done, project_id);

-- name: HavingCount :many
-- expect: owner_id, n, max_budget?
SELECT owner_id, count(*) AS n, max(budget) AS max_budget
FROM projects
GROUP BY owner_id
HAVING count(*) > 1;

-- name: DistinctAggregates :one
-- expect: n_teams, moods?
SELECT count(DISTINCT team_id) AS n_teams, array_agg(DISTINCT mood) AS moods FROM users;

-- name: CoalescedSum :one
-- expect: n, total
SELECT count(*) AS n, coalesce(sum(hours), 0) AS total FROM tasks WHERE project_id = :project_id;

-- name: SelectDistinct :many
-- expect: team_id?, mood
SELECT DISTINCT team_id, mood FROM users;
