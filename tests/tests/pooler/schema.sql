CREATE TYPE mood AS ENUM ('happy', 'sad');

CREATE TABLE people (
    id bigint PRIMARY KEY,
    name text NOT NULL,
    mood mood NOT NULL
);

CREATE TABLE notes (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    person_id bigint NOT NULL REFERENCES people (id),
    body text NOT NULL
);

CREATE INDEX notes_person_id ON notes (person_id);
