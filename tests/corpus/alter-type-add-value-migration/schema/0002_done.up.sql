-- The new value cannot be used in the transaction that adds it: ADD VALUE
-- runs on its own, committed before the next statement.
ALTER TYPE state ADD VALUE 'done';
ALTER TABLE tasks ALTER COLUMN state SET DEFAULT 'done';
CREATE INDEX CONCURRENTLY tasks_done ON tasks (id) WHERE state = 'done';
