CREATE TABLE posts (id bigserial PRIMARY KEY, title text NOT NULL);
CREATE TABLE tags (id bigserial PRIMARY KEY, quarry_key bigint NOT NULL, label text NOT NULL);
CREATE TABLE post_tags (
    post_id bigint NOT NULL REFERENCES posts (id),
    tag_id bigint NOT NULL REFERENCES tags (id),
    PRIMARY KEY (post_id, tag_id)
);
