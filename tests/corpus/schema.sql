-- The shared schema of the bad-input corpus: used by every case without a
-- `schema.sql` or `schema/` of its own.
CREATE TYPE mood AS ENUM ('happy', 'sad');
CREATE TABLE authors (
    id bigserial PRIMARY KEY,
    name text NOT NULL,
    mood mood,
    code text NOT NULL UNIQUE
);
CREATE TABLE posts (
    id bigserial PRIMARY KEY,
    author_id bigint NOT NULL REFERENCES authors (id),
    editor_id bigint REFERENCES authors (id),
    title text NOT NULL,
    body text,
    views int NOT NULL DEFAULT 0
);
CREATE TABLE comments (
    id bigserial PRIMARY KEY,
    post_id bigint NOT NULL REFERENCES posts (id),
    body text NOT NULL
);
-- Two foreign keys from reviews to posts: `reviews` is ambiguous.
CREATE TABLE reviews (
    id bigserial PRIMARY KEY,
    post_id bigint NOT NULL REFERENCES posts (id),
    previous_post_id bigint REFERENCES posts (id)
);
CREATE TABLE tags (id bigserial PRIMARY KEY, label text NOT NULL);
CREATE TABLE post_tags (
    post_id bigint NOT NULL REFERENCES posts (id),
    tag_id bigint NOT NULL REFERENCES tags (id),
    PRIMARY KEY (post_id, tag_id)
);
