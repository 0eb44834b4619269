-- name: AuthorMoods :many
SELECT id, mood AS "Über" FROM authors;
