-- Schema of the streaming tests (tests/tests/streaming.rs).
CREATE TABLE owners (
    id bigint PRIMARY KEY,
    name text NOT NULL
);

CREATE TABLE items (
    id bigint PRIMARY KEY,
    owner_id bigint NOT NULL REFERENCES owners (id),
    name text NOT NULL
);

CREATE TABLE notes (
    id bigint PRIMARY KEY,
    item_id bigint NOT NULL REFERENCES items (id),
    body text NOT NULL
);
