CREATE TABLE authors (
    id bigint PRIMARY KEY,
    name text NOT NULL,
    spotify_url text
);

CREATE TABLE books (
    id bigint PRIMARY KEY,
    author_id bigint NOT NULL REFERENCES authors (id),
    title text NOT NULL
);

CREATE INDEX books_author_id ON books (author_id);
