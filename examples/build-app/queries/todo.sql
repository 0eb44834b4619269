-- Queries of the to-do example.

-- name: CreateList :one
-- Creates an empty list.
INSERT INTO lists (title)
VALUES (:title)
RETURNING id, title, created_at;

-- name: AddTodo :one
-- Adds an open item to a list, with an optional due date.
INSERT INTO todos (list_id, title, due_on)
VALUES (:list_id, :title, :due_on?)
RETURNING id, list_id, title, due_on, created_at;

-- name: CompleteTodo :opt
-- Marks an open item done; None if it does not exist or is already done.
UPDATE todos
SET done_at = :done_at
WHERE id = :id AND done_at IS NULL
RETURNING id, title, done_at;

-- name: UpsertTag :one
-- Returns the tag with the given name, creating it if needed.
INSERT INTO tags (name)
VALUES (:name)
ON CONFLICT (name) DO UPDATE
SET name = EXCLUDED.name
RETURNING id, name;

-- name: TagTodo :exec
-- Attaches a tag to an item; attaching it twice is a no-op (0 rows).
INSERT INTO todo_tags (todo_id, tag_id)
VALUES (:todo_id, :tag_id)
ON CONFLICT DO NOTHING;

-- name: OpenTodosDueBy :many
-- Open items due on or before a date, soonest first, with their list's title.
SELECT t.id, t.title, t.due_on, l.title AS list_title
FROM todos t
JOIN lists l ON l.id = t.list_id
WHERE t.done_at IS NULL AND t.due_on <= :date
ORDER BY t.due_on, t.id;

-- name: TodosByList :many
-- Items of the given lists, open ones first, then by due date (undated last);
-- the batch loader behind lists. Each item carries its tags.
-- @key list_id
-- @prefetch tags
SELECT t.id, t.list_id, t.title, t.due_on, t.done_at
FROM todos t
WHERE t.list_id = ANY (:list_ids)
ORDER BY t.list_id, t.done_at IS NOT NULL, t.due_on NULLS LAST, t.id;

-- name: ListsWithTodos :many
-- Every list with its items and their tags: three statements, whatever the number of lists.
-- @prefetch todos = TodosByList(id)
SELECT l.id, l.title, l.created_at
FROM lists l
ORDER BY l.id;
