-- Schema of the nullability corpus (tests/nullability/*.sql). Compact, but it
-- exercises every source of (non-)nullability the inference must know about:
-- NOT NULL and nullable columns, NOT NULL and nullable foreign keys, a
-- self-reference, views (a plain projection and one with an outer join),
-- domains with and without NOT NULL, an enum, strict and non-strict SQL
-- functions, arrays and jsonb.

CREATE TYPE mood AS ENUM ('happy', 'sad', 'meh');

-- NOT NULL comes from the domain only: columns of this type are non-null
-- even though the columns themselves are not declared NOT NULL.
CREATE DOMAIN email AS text NOT NULL CHECK (VALUE LIKE '%@%');

-- No NOT NULL: columns of this type are nullable.
CREATE DOMAIN nickname AS text CHECK (length(VALUE) > 0);

CREATE TABLE teams (
    id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name   text NOT NULL,
    motto  text
);

CREATE TABLE users (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    team_id     bigint REFERENCES teams (id),           -- nullable FK
    manager_id  bigint REFERENCES users (id),           -- nullable self-reference
    name        text NOT NULL,
    email       email,                                  -- NOT NULL through its domain
    nick        nickname,                               -- nullable domain
    bio         text,
    mood        mood NOT NULL DEFAULT 'meh',
    prev_mood   mood,
    age         integer,
    score       integer NOT NULL DEFAULT 0,
    tags        text[] NOT NULL DEFAULT '{}',
    aliases     text[],
    prefs       jsonb NOT NULL DEFAULT '{}',
    extra       jsonb,
    created_at  timestamptz NOT NULL DEFAULT now(),
    deleted_at  timestamptz
);

CREATE TABLE projects (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    owner_id   bigint NOT NULL REFERENCES users (id),   -- NOT NULL FK
    team_id    bigint REFERENCES teams (id),            -- nullable FK
    title      text NOT NULL,
    budget     numeric(12, 2),
    starts_on  date NOT NULL,
    ends_on    date
);

CREATE TABLE tasks (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project_id   bigint NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    assignee_id  bigint REFERENCES users (id),          -- nullable FK
    parent_id    bigint REFERENCES tasks (id),          -- nullable self-reference
    title        text NOT NULL,
    estimate     integer,
    hours        integer NOT NULL DEFAULT 0,
    done         boolean NOT NULL DEFAULT false,
    note         text
);

-- Target of upserts.
CREATE TABLE events (
    slug       text PRIMARY KEY,
    hits       bigint NOT NULL DEFAULT 0,
    last_note  text
);

-- A plain projection: its columns keep the base columns' nullability.
CREATE VIEW active_users AS
    SELECT id, name, email, bio, team_id
    FROM users
    WHERE deleted_at IS NULL;

-- An outer join inside the view: the team side is nullable.
CREATE VIEW user_teams AS
    SELECT u.id AS user_id, u.name AS user_name,
           t.id AS team_id, t.name AS team_name, t.motto
    FROM users u
    LEFT JOIN teams t ON t.id = u.team_id;

-- STRICT: NULL in, NULL out; never NULL for non-null arguments.
CREATE FUNCTION full_label(a text, b text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT
    AS $$ SELECT a || ': ' || b $$;

-- Not strict (called on NULL input): it may return NULL whatever its
-- arguments (here for an empty label), so a call is nullable.
CREATE FUNCTION label_or_default(a text) RETURNS text
    LANGUAGE sql IMMUTABLE CALLED ON NULL INPUT
    AS $$ SELECT nullif(coalesce(a, 'none'), '') $$;
