-- name: BookWithAuthor :one
-- A book's title and its author (an inner join: always there).
SELECT sqlc.embed(authors), books.title
FROM books
JOIN authors ON authors.id = books.author_id
WHERE books.id = :id;

-- name: BooksWithEditor :many
-- Every book with its editor, if it has one (a left join).
SELECT books.id, sqlc.embed(e), books.title
FROM books
LEFT JOIN authors e ON e.id = books.editor_id
ORDER BY books.id;

-- name: BookAuthorAndEditor :one
-- The same table embedded twice: the author and the editor.
SELECT sqlc.embed(a), b.title, sqlc.embed(e)
FROM books b
JOIN authors a ON a.id = b.author_id
JOIN authors e ON e.id = b.editor_id
WHERE b.id = :id;

-- name: AuthorsWithBooks :many
-- Every author and each of their books, if any (a table with nullable
-- columns embedded on the nullable side).
SELECT authors.id AS author_id, authors.name, sqlc.embed(books)
FROM authors
LEFT JOIN books ON books.author_id = authors.id
ORDER BY authors.id, books.id;
