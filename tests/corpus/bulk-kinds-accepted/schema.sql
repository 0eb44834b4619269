CREATE TYPE mood AS ENUM ('happy', 'sad');
CREATE DOMAIN label AS text CHECK (VALUE <> '');
CREATE TABLE events (
    id bigint PRIMARY KEY,
    "Kind" text NOT NULL,
    mirror text NOT NULL,
    label label,
    mood mood,
    tags text[] NOT NULL DEFAULT '{}',
    payload jsonb,
    at timestamptz
);
