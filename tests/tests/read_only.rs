//! Read-only inference end to end: through the real pipeline (the catalog's
//! `provolatile` of the scratch database), the generated `Query` const of a
//! query that writes nothing is marked `.read_only()` — the runtime may then
//! retry it on a fresh connection — and that of a write is not.

use std::collections::BTreeMap;

use quarry_tests::generate_fixture;

const SCHEMA: &str = "
    CREATE TABLE authors (id int4 PRIMARY KEY, name text NOT NULL);
    CREATE TABLE posts (
        id int4 PRIMARY KEY,
        author_id int4 NOT NULL REFERENCES authors (id),
        title text NOT NULL
    );
    CREATE SEQUENCE tickets;
    -- VOLATILE by default: may write.
    CREATE FUNCTION log_visit(id int4) RETURNS bool LANGUAGE sql AS 'SELECT true';
    CREATE FUNCTION shout(t text) RETURNS text LANGUAGE sql STABLE AS 'SELECT upper(t)';
    CREATE VIEW ticket_view AS SELECT nextval('tickets') AS n;
    CREATE VIEW author_names AS SELECT id, name FROM authors;
";

const QUERIES: &str = "
-- name: GetAuthor :one
SELECT id, name FROM authors WHERE id = :id;

-- name: ListPosts :many
-- @prefetch author
SELECT id, author_id, title FROM posts ORDER BY id;

-- name: ShoutNames :many
SELECT shout(name) AS loud, random() AS r, now() AS at FROM author_names;

-- name: NextTicket :one
SELECT nextval('tickets') AS n;

-- name: TicketFromView :one
SELECT n FROM ticket_view;

-- name: VisitedAuthors :many
SELECT id FROM authors WHERE log_visit(id);

-- name: LockAuthor :one
SELECT id FROM authors WHERE id = :id FOR UPDATE;

-- name: CreateAuthor :exec
INSERT INTO authors (id, name) VALUES (:id, :name);

-- name: DeleteAndCount :one
WITH gone AS (DELETE FROM posts WHERE author_id = :author_id RETURNING id)
SELECT count(*) AS n FROM gone;
";

/// Query name → whether its generated `Query` const is marked read-only.
fn read_only_consts(code: &str) -> BTreeMap<String, bool> {
    code.split("quarry::Query::new(")
        .skip(1)
        .filter_map(|rest| {
            let name = rest.trim_start().strip_prefix('"')?.split('"').next()?;
            let statement = rest.split(';').next()?;
            Some((name.to_string(), statement.contains(".read_only()")))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_are_marked_read_only_and_writes_are_not() {
    let output = generate_fixture("blog.sql", QUERIES.as_bytes(), SCHEMA)
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    let code = output
        .files
        .get(std::path::Path::new("blog.rs"))
        .unwrap_or_else(|| panic!("no blog.rs in {:?}", output.files.keys()));
    let consts = read_only_consts(code);
    let expected: BTreeMap<String, bool> = [
        ("GetAuthor", true),
        ("ListPosts", true),
        // The loader derived for `@prefetch author` (`= ANY($1)`).
        ("AuthorsById", true),
        // STABLE user function, a view, `random()`/`now()`.
        ("ShoutNames", true),
        ("NextTicket", false),
        // `nextval` hidden in a view.
        ("TicketFromView", false),
        // A user function left VOLATILE.
        ("VisitedAuthors", false),
        ("LockAuthor", false),
        ("CreateAuthor", false),
        ("DeleteAndCount", false),
    ]
    .into_iter()
    .map(|(name, read_only)| (name.to_string(), read_only))
    .collect();
    assert_eq!(consts, expected, "{code}");
}
