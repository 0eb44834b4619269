-- name: GetPerson :one
-- One person by id.
SELECT id, name FROM people WHERE id = :id;

-- name: ListPeople :many
-- People with their notes (one statement for all the notes).
-- @prefetch notes = NotesByPerson(id)
SELECT id, name FROM people ORDER BY id LIMIT :limit;

-- name: NotesByPerson :many
-- The notes of the given people.
-- @key person_id
SELECT id, person_id, body FROM notes WHERE person_id = ANY (:person_ids) ORDER BY id;

-- name: AddNote :exec
-- Adds a note.
INSERT INTO notes (person_id, body) VALUES (:person_id, :body);

-- name: Rename :batchexec
-- Renames people, pipelined in one transaction.
UPDATE people SET name = :name WHERE id = :id;

-- name: ImportNotes :copyfrom
-- Notes in bulk, through one binary COPY.
INSERT INTO notes (person_id, body) VALUES (:person_id, :body);

-- name: PeopleByMood :many
-- People in a mood (an enum parameter and column).
SELECT id, name, mood FROM people WHERE mood = :mood ORDER BY id;
