-- Fixture of tests/tests/attribution.rs: generated with `attribution = false`.
CREATE TABLE things (
    id bigint PRIMARY KEY,
    label text NOT NULL
);
