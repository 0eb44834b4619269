-- Authors (`bio` may be NULL) and their books; a book's editor is an
-- author too, and optional.
CREATE TABLE authors (
    id bigint PRIMARY KEY,
    name text NOT NULL,
    bio text
);

CREATE TABLE books (
    id bigint PRIMARY KEY,
    author_id bigint NOT NULL REFERENCES authors (id),
    title text NOT NULL,
    editor_id bigint REFERENCES authors (id)
);

CREATE INDEX books_author_id ON books (author_id);
CREATE INDEX books_editor_id ON books (editor_id);
