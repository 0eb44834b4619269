CREATE DOMAIN label AS text CHECK (VALUE <> '');
CREATE TABLE posts (id bigserial PRIMARY KEY, author_id bigint NOT NULL, title text NOT NULL, views int NOT NULL);
CREATE TABLE notes (id bigint PRIMARY KEY, labels label[] NOT NULL);
