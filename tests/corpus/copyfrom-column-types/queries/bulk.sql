-- name: CopyPosts :copyfrom
-- `:n` is typed int8 by `author_id`, but `views` is int4.
INSERT INTO posts (author_id, title, views) VALUES (:n, :title, :n);

-- name: CopyNotes :copyfrom
-- A binary COPY cannot write an array of a domain from its base type.
INSERT INTO notes (id, labels) VALUES (:id, :labels);
