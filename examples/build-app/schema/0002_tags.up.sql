-- Tags, attached to items through a junction table.

CREATE TABLE tags (
    id    bigserial PRIMARY KEY,
    name  text NOT NULL UNIQUE
);

CREATE TABLE todo_tags (
    todo_id  bigint NOT NULL REFERENCES todos (id) ON DELETE CASCADE,
    tag_id   bigint NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
    PRIMARY KEY (todo_id, tag_id)
);

CREATE INDEX todo_tags_tag_id_idx ON todo_tags (tag_id);
