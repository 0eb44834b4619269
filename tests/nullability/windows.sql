-- Nullability corpus: window functions. Ranking functions are never NULL;
-- lag/lead/first_value/last_value/nth_value may look outside the partition or
-- frame; an aggregate over the default frame (which always contains the
-- current row) behaves like GROUP BY.

-- name: RankingWindows :many
-- expect: id, rn, rnk, drnk, quartile, pct, cd
SELECT id,
       row_number() OVER (ORDER BY id) AS rn,
       rank() OVER (PARTITION BY team_id ORDER BY score DESC) AS rnk,
       dense_rank() OVER (ORDER BY score) AS drnk,
       ntile(4) OVER (ORDER BY score) AS quartile,
       percent_rank() OVER (ORDER BY score) AS pct,
       cume_dist() OVER (ORDER BY score) AS cd
FROM users;

-- name: OffsetWindows :many
-- lag(x, 1, default) is non-null only when x and the default are.
-- expect: id, prev_score?, next_name?, second_name?, prev_or_zero, prev_age_or_zero?
SELECT id,
       lag(score) OVER w AS prev_score,
       lead(name) OVER w AS next_name,
       nth_value(name, 2) OVER w AS second_name,
       lag(score, 1, 0) OVER w AS prev_or_zero,
       lag(age, 1, 0) OVER w AS prev_age_or_zero
FROM users
WINDOW w AS (ORDER BY id);

-- name: FirstLastValueEmptyFrames :many
-- Frames that can be empty (the last rows have nothing following).
-- expect: id, first_after?, last_after?
SELECT id,
       first_value(name) OVER (ORDER BY id ROWS BETWEEN 1 FOLLOWING AND 2 FOLLOWING) AS first_after,
       last_value(name) OVER (ORDER BY id ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING) AS last_after
FROM users;

-- name: WindowAggregates :many
-- expect: id, team_total, team_age?, total_rows, running_avg, running_max, n_bio
SELECT id,
       sum(score) OVER (PARTITION BY team_id) AS team_total,
       sum(age) OVER (PARTITION BY team_id) AS team_age,
       count(*) OVER () AS total_rows,
       avg(score) OVER (ORDER BY id) AS running_avg,
       max(name) OVER (PARTITION BY mood ORDER BY created_at) AS running_max,
       count(bio) OVER (PARTITION BY team_id) AS n_bio
FROM users;

-- name: WindowAggregatesPossiblyEmpty :many
-- Explicit frames that may exclude every row, and FILTER.
-- expect: id, next_score?, max_before?, adult_total?, n_adults
SELECT id,
       sum(score) OVER (ORDER BY id ROWS BETWEEN 1 FOLLOWING AND 1 FOLLOWING) AS next_score,
       max(score) OVER (ORDER BY id ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS max_before,
       sum(score) FILTER (WHERE age > 18) OVER (PARTITION BY team_id) AS adult_total,
       count(*) FILTER (WHERE age > 18) OVER (PARTITION BY team_id) AS n_adults
FROM users;

-- name: WindowOverLeftJoin :many
-- expect: id, title?, pos, n_tasks, hours?
SELECT p.id, t.title,
       row_number() OVER (PARTITION BY p.id ORDER BY t.id) AS pos,
       count(t.id) OVER (PARTITION BY p.id) AS n_tasks,
       sum(t.hours) OVER (PARTITION BY p.id) AS hours
FROM projects p
LEFT JOIN tasks t ON t.project_id = p.id;

-- name: WindowInSubquery :many
-- expect: id, rn
SELECT ranked.id, ranked.rn
FROM (
    SELECT id, row_number() OVER (PARTITION BY team_id ORDER BY score DESC) AS rn FROM users
) ranked
WHERE ranked.rn <= 3;

-- name: WindowInLeftJoinedSubquery :many
-- expect: id, rn?
SELECT t.id, r.rn
FROM teams t
LEFT JOIN (
    SELECT team_id, row_number() OVER (PARTITION BY team_id ORDER BY id) AS rn FROM users
) r ON r.team_id = t.id;

-- name: WindowOverGroupBy :many
-- A window over grouped rows.
-- expect: owner_id, n, share, rnk
SELECT owner_id, count(*) AS n,
       sum(count(*)) OVER () AS share,
       rank() OVER (ORDER BY count(*) DESC) AS rnk
FROM projects
GROUP BY owner_id;
