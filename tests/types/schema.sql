-- Every PostgreSQL type Quarry maps, in nullable table columns, for the
-- round-trip tests of tests/tests/types_roundtrip.rs.

CREATE EXTENSION citext;

CREATE TYPE mood AS ENUM ('happy', 'sad', 'so-so', 'so_so', 'Very Happy');

CREATE DOMAIN positive_int AS int4 NOT NULL CHECK (VALUE > 0);
CREATE DOMAIN email AS citext CHECK (VALUE LIKE '%@%');

CREATE TYPE point2 AS (x float8, y float8);

-- A composite holding another composite and an array.
CREATE TYPE address AS (
    street text,
    city citext,
    location point2,
    tags text[],
    zip int4,
    mood mood
);

-- A composite with a domain-typed attribute.
CREATE TYPE card AS (
    email email,
    label text
);


CREATE TABLE scalars (
    id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    t_bool bool,
    t_char "char",
    t_int2 int2,
    t_int4 int4,
    t_int8 int8,
    t_float4 float4,
    t_float8 float8,
    t_oid oid,
    t_numeric numeric,
    t_money money,
    t_text text,
    t_varchar varchar(20),
    t_bpchar char(5),
    t_name name,
    t_citext citext,
    t_bytea bytea,
    t_uuid uuid,
    t_json json,
    t_jsonb jsonb,
    t_xml xml
);

CREATE TABLE net_search (
    id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    t_inet inet,
    t_cidr cidr,
    t_macaddr macaddr,
    t_macaddr8 macaddr8,
    t_bit bit(5),
    t_varbit varbit,
    t_tsvector tsvector,
    t_tsquery tsquery
);

CREATE TABLE times (
    id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    t_date date,
    t_time time,
    t_timetz timetz,
    t_timestamp timestamp,
    t_timestamptz timestamptz,
    t_interval interval,
    t_tsrange tsrange,
    t_tstzrange tstzrange,
    t_daterange daterange,
    t_datemultirange datemultirange,
    a_date date[],
    a_time time[],
    a_timetz timetz[],
    a_timestamp timestamp[],
    a_timestamptz timestamptz[],
    a_interval interval[]
);

-- Read through MaybeInfinite overrides (by column and parameter).
CREATE TABLE infinities (
    id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    t_date date,
    t_timestamp timestamp,
    t_timestamptz timestamptz
);

CREATE TABLE ranges (
    id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    t_int4range int4range,
    t_int8range int8range,
    t_numrange numrange,
    t_int4multirange int4multirange,
    t_int8multirange int8multirange,
    t_nummultirange nummultirange,
    a_int4range int4range[]
);

CREATE TABLE scalar_arrays (
    id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    a_bool bool[],
    a_char "char"[],
    a_int2 int2[],
    a_int4 int4[],
    a_int8 int8[],
    a_float4 float4[],
    a_float8 float8[],
    a_oid oid[],
    a_numeric numeric[],
    a_money money[],
    a_text text[],
    a_varchar varchar[],
    a_bpchar char(3)[],
    a_name name[],
    a_citext citext[],
    a_bytea bytea[],
    a_uuid uuid[],
    a_json json[],
    a_jsonb jsonb[],
    a_xml xml[]
);

CREATE TABLE other_arrays (
    id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    a_inet inet[],
    a_cidr cidr[],
    a_macaddr macaddr[],
    a_macaddr8 macaddr8[],
    a_bit bit(3)[],
    a_varbit varbit[],
    a_tsvector tsvector[],
    a_tsquery tsquery[],
    a_mood mood[],
    a_address address[]
);

-- Arrays whose elements may be NULL (`nullable_elements` overrides).
CREATE TABLE sparse_arrays (
    id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    a_int4 int4[],
    a_text text[],
    a_mood mood[]
);

CREATE TABLE user_types (
    id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    t_mood mood,
    t_address address,
    t_point point2,
    t_count positive_int,
    t_email email,
    a_email email[],
    t_card card
);

-- For the decode-error test: a value with two dimensions.
CREATE TABLE matrix (
    id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    cells int4[][]
);

-- jsonb bound to a serde type by configuration.
CREATE TABLE documents (
    id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    meta jsonb,
    raw jsonb
);
