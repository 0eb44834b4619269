-- Blog schema of the Quarry example application: authors, posts, comments
-- (possibly anonymous) and tags attached to posts through a junction table.

CREATE TABLE authors (
    id      bigserial PRIMARY KEY,
    name    text NOT NULL,
    email   text NOT NULL UNIQUE,
    bio     text,
    avatar  bytea
);

CREATE TABLE posts (
    id            bigserial PRIMARY KEY,
    author_id     bigint NOT NULL REFERENCES authors (id),
    title         varchar(200) NOT NULL,
    body          text NOT NULL,
    -- NULL while the post is a draft.
    published_at  timestamptz,
    views         bigint NOT NULL DEFAULT 0,
    metadata      jsonb,
    uuid          uuid NOT NULL UNIQUE DEFAULT gen_random_uuid()
);

CREATE INDEX posts_author_id_idx ON posts (author_id);
CREATE INDEX posts_published_at_idx ON posts (published_at);
CREATE INDEX posts_metadata_idx ON posts USING gin (metadata);

CREATE TABLE comments (
    id          bigserial PRIMARY KEY,
    post_id     bigint NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    -- NULL for anonymous comments.
    author_id   bigint REFERENCES authors (id) ON DELETE SET NULL,
    body        text NOT NULL,
    created_at  timestamptz NOT NULL
);

CREATE INDEX comments_post_id_created_at_idx ON comments (post_id, created_at);
CREATE INDEX comments_author_id_idx ON comments (author_id);

CREATE TABLE tags (
    id    bigserial PRIMARY KEY,
    name  text NOT NULL UNIQUE
);

CREATE TABLE post_tags (
    post_id  bigint NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    tag_id   bigint NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
    PRIMARY KEY (post_id, tag_id)
);

CREATE INDEX post_tags_tag_id_idx ON post_tags (tag_id);
