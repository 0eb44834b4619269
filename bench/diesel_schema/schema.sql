-- The schema of the diesel benchmark suite (diesel_bench) on PostgreSQL,
-- as issue 7 describes it. Used by the `workload` benches and by the
-- generated code in `bench/src/generated/` (bench/quarry.toml).

CREATE TABLE users (
    id serial PRIMARY KEY,
    name varchar NOT NULL,
    hair_color varchar
);
CREATE INDEX users_hair_color ON users (hair_color);

CREATE TABLE posts (
    id serial PRIMARY KEY,
    user_id int NOT NULL REFERENCES users,
    title varchar NOT NULL UNIQUE,
    body text,
    tags text[] NOT NULL DEFAULT '{}',
    nullable_tags varchar[]
);
CREATE INDEX posts_user_id ON posts (user_id);

CREATE TABLE comments (
    id serial PRIMARY KEY,
    post_id int NOT NULL REFERENCES posts,
    text text NOT NULL
);
