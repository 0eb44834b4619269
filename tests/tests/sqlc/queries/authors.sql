-- Authors, as in sqlc's tutorial: `-- name:` headers, positional and
-- sqlc.arg/sqlc.narg/@ parameters, and the exec kinds.

-- name: GetAuthor :one
SELECT * FROM authors
WHERE id = $1 LIMIT 1;

-- name: ListAuthors :many
SELECT * FROM authors
ORDER BY name;

-- name: CreateAuthor :one
INSERT INTO authors (
  name, bio
) VALUES (
  $1, $2
)
RETURNING *;

-- name: UpdateAuthorBio :execrows
UPDATE authors SET bio = sqlc.narg(bio)
WHERE id = sqlc.arg(id);

-- name: CapitalizeAuthors :execresult
UPDATE authors SET name = upper(name)
WHERE name LIKE @prefix || '%';

-- name: DeleteAuthor :exec
DELETE FROM authors
WHERE id = $1;

-- name: AuthorBookCounts :many
SELECT id, name, books FROM author_book_counts ORDER BY id;
