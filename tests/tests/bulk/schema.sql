-- Schema of the bulk-write tests (tests/tests/bulk.rs, bulk_memory.rs).

CREATE TYPE mood AS ENUM ('happy', 'sad', 'so-so');

CREATE TYPE point2 AS (x float8, y float8);

-- A composite holding another composite, an array and an enum.
CREATE TYPE address AS (
    street text,
    location point2,
    tags text[],
    mood mood
);

CREATE DOMAIN positive_int AS int4 CHECK (VALUE > 0);

-- One column of every mapped type family; every column but `id` and
-- `label` nullable.
CREATE TABLE everything (
    id bigint PRIMARY KEY,
    label text NOT NULL,
    t_bool bool,
    t_int2 int2,
    t_int4 int4,
    t_int8 int8,
    t_float4 float4,
    t_float8 float8,
    t_numeric numeric,
    t_text text,
    t_varchar varchar(40),
    t_bytea bytea,
    t_uuid uuid,
    t_date date,
    t_time time,
    t_timestamp timestamp,
    t_timestamptz timestamptz,
    t_interval interval,
    t_json json,
    t_jsonb jsonb,
    meta jsonb,
    t_mood mood,
    t_address address,
    t_count positive_int,
    a_int4 int4[],
    a_text text[],
    a_mood mood[],
    t_int8range int8range,
    t_tstzrange tstzrange,
    t_numrange numrange,
    t_int4multirange int4multirange,
    t_inet inet,
    t_cidr cidr
);

-- Rows of the batch tests: `grp` g holds g % 3 items.
CREATE TABLE items (
    id bigint PRIMARY KEY,
    grp int NOT NULL,
    price int NOT NULL CHECK (price >= 0),
    name text NOT NULL
);

-- Rows of the unnest upsert.
CREATE TABLE tags (
    id bigint PRIMARY KEY,
    name text NOT NULL
);

-- Rows of the million-row copy and batch.
CREATE TABLE events (
    id bigint NOT NULL,
    kind text NOT NULL,
    body text
);
