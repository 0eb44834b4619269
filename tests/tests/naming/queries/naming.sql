-- name: Constants :one
SELECT 1, 2, 'three' AS three, 4;

-- name: BooksWithAuthors :many
SELECT b.id, a.id, b.title, a.name, a.spotify_url
FROM books b JOIN authors a ON a.id = b.author_id
ORDER BY b.id;

-- name: Mixed :one
SELECT a.id, a.id + 1, a.id AS "ID", a.name, upper(a.name) AS name
FROM authors a WHERE a.id = :id;

-- name: AddAuthor :one
INSERT INTO authors (id, name, spotify_url) VALUES (:id, :name, :url)
RETURNING id, spotify_url, 7;
