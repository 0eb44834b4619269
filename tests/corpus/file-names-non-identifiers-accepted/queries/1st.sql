-- name: FirstAuthor :opt
SELECT id, name FROM authors ORDER BY id LIMIT 1;
