CREATE TYPE option AS ENUM ('some', 'none');
CREATE TABLE posts (id bigint PRIMARY KEY, choice option NOT NULL);
CREATE TABLE comments (id bigint PRIMARY KEY, post_id bigint NOT NULL REFERENCES posts (id));
