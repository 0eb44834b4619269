-- Schema of tests/types/resilience.toml.
CREATE TABLE events (
    id bigint PRIMARY KEY,
    label text NOT NULL
);
