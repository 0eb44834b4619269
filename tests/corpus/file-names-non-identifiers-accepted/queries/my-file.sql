-- name: AuthorNames :many
SELECT name FROM authors;
