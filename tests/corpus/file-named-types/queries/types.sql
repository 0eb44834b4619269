-- name: MoodOf :one
SELECT mood FROM authors WHERE id = :id;
