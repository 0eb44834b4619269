-- Every statement shape `:copyfrom` refuses, one query each.

-- name: WithConflict :copyfrom
INSERT INTO tags (label) VALUES (:label)
ON CONFLICT DO NOTHING;

-- name: WithReturning :copyfrom
INSERT INTO tags (label) VALUES (:label) RETURNING id;

-- name: WithExpression :copyfrom
INSERT INTO authors (name, code) VALUES (:name, upper(:code));

-- name: WithCast :copyfrom
INSERT INTO authors (name, code) VALUES (:name, :code::text);

-- name: WithDefault :copyfrom
INSERT INTO posts (author_id, title, views) VALUES (:author_id, :title, DEFAULT);

-- name: SeveralRows :copyfrom
INSERT INTO tags (label) VALUES (:first), (:second);

-- name: FromSelect :copyfrom
INSERT INTO tags (label) SELECT label FROM tags WHERE id = :id;

-- name: NotAnInsert :copyfrom
UPDATE tags SET label = :label;

-- name: NoColumnList :copyfrom
INSERT INTO tags VALUES (:id, :label);

-- name: NoParameters :copyfrom
INSERT INTO tags (label) VALUES ('x');

-- name: WithCte :copyfrom
WITH t AS (SELECT 1) INSERT INTO tags (label) VALUES (:label);
