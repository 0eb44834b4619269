-- name: DoneTasks :many
SELECT id, state FROM tasks WHERE state = 'done';
