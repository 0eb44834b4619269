/* Books, with sqlc's block-comment headers, sqlc.embed and sqlc.slice, the
   bulk kinds, and result columns sqlc names itself. */

/* name: CreateBooks :copyfrom */
INSERT INTO books (author_id, isbn, genre, title, year, price, tags)
VALUES ($1, $2, $3, $4, $5, $6, $7);

/* name: BooksByIds :many */
SELECT book_id, title FROM books
WHERE book_id IN (sqlc.slice(ids))
ORDER BY book_id;

/* name: BookWithAuthor :one */
SELECT sqlc.embed(books), sqlc.embed(authors)
FROM books JOIN authors ON authors.id = books.author_id
WHERE books.book_id = $1;

/* name: BooksByTags :many */
SELECT book_id, title, isbn, tags
FROM books
WHERE tags && sqlc.arg(tags)::text[]
ORDER BY book_id;

/* name: SetBookPrices :batchexec */
UPDATE books SET price = @price WHERE book_id = @book_id;

/* name: GetBookBatch :batchone */
SELECT book_id, title, year FROM books WHERE book_id = $1;

/* name: BooksByAuthorBatch :batchmany */
SELECT book_id, title FROM books WHERE author_id = $1 ORDER BY book_id;

/* name: BookFacts :one */
SELECT b.book_id, b.title, a.id, b.year + 1, a.name || ' wrote ' || b.title, $1::int
FROM books b JOIN authors a ON a.id = b.author_id
WHERE b.book_id = $2;

/* name: Hello :one */
SELECT say_hello(sqlc.arg(name));
