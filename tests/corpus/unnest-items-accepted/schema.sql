CREATE TYPE mood AS ENUM ('happy', 'sad');
CREATE DOMAIN label AS text CHECK (VALUE <> '');
CREATE TYPE point2 AS (x float8, y float8);
CREATE TABLE things (
    id bigint PRIMARY KEY,
    name text NOT NULL,
    blob bytea,
    doc jsonb,
    mood mood,
    label label,
    spot point2,
    price numeric,
    at timestamptz
);
