-- Nullability corpus: RETURNING of INSERT, UPDATE and DELETE. Returned
-- columns follow the target table (a trigger may change any value, so the
-- values written do not matter); columns of other FROM/USING tables follow
-- their own rules.

-- name: InsertReturning :one
-- expect: id, name, motto?
INSERT INTO teams (name, motto) VALUES (:name, :motto?)
RETURNING id, name, motto;

-- name: InsertReturningStar :one
-- expect: id, project_id, assignee_id?, parent_id?, title, estimate?, hours, done, note?
INSERT INTO tasks (project_id, title) VALUES (:project_id, :title)
RETURNING *;

-- name: InsertReturningExpressions :one
-- expect: id, shout, created_at, bio_text, next_age?, email
INSERT INTO users (name, email) VALUES (:name, :email::text)
RETURNING id, upper(name) AS shout, created_at, coalesce(bio, '') AS bio_text,
          age + 1 AS next_age, email;

-- name: InsertSelectReturning :many
-- expect: slug, hits, last_note?
INSERT INTO events (slug, hits)
SELECT name, 1 FROM teams
RETURNING slug, hits, last_note;

-- name: UpsertReturning :one
-- expect: slug, hits, last_note?
INSERT INTO events (slug) VALUES (:slug)
ON CONFLICT (slug) DO UPDATE SET hits = events.hits + 1, last_note = :note?
RETURNING slug, hits, last_note;

-- name: UpsertDoNothingReturning :opt
-- expect: slug, hits
INSERT INTO events (slug) VALUES (:slug)
ON CONFLICT DO NOTHING
RETURNING slug, hits;

-- name: UpdateReturning :opt
-- expect: id, title, budget?, ends_on?
UPDATE projects SET budget = :budget? WHERE id = :id
RETURNING id, title, budget, ends_on;

-- name: UpdateReturningExpressions :opt
-- expect: id, double_score, double_age?
UPDATE users SET score = score + :delta WHERE id = :id
RETURNING id, score * 2 AS double_score, age * 2 AS double_age;

-- name: UpdateFromReturning :many
-- Columns of the FROM table are inner-joined: theirs.
-- expect: id, assignee_id?, note?, bio?, user_name
UPDATE tasks t SET note = u.bio
FROM users u
WHERE u.name = :name AND t.id = :id
RETURNING t.id, t.assignee_id, t.note, u.bio, u.name AS user_name;

-- name: DeleteReturning :many
-- expect: id, title, estimate?
DELETE FROM tasks WHERE project_id = :project_id
RETURNING id, title, estimate;

-- name: DeleteReturningStar :opt
-- expect: id, name, motto?
DELETE FROM teams WHERE id = :id
RETURNING *;

-- name: DeleteUsingReturning :many
-- expect: id, project_title, budget?
DELETE FROM tasks t
USING projects p
WHERE p.id = t.project_id AND p.title = :title
RETURNING t.id, p.title AS project_title, p.budget;
