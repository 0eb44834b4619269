//! sqlc's lexical forms end to end, against the shared server: `/* name: … */`
//! headers, `:execresult` (a `quarry::ExecResult` with the statement's
//! command) and `:execrows` (rows affected), `[NOT] IN (sqlc.slice(name))`
//! (an array parameter, a slice in Rust); the diagnostics for `:execlastid`
//! and a misplaced `sqlc.slice`; and statements without a header, skipped in
//! the sqlc dialect and an error in Quarry's. Generated code is asserted on
//! as text here; `tests/tests/sqlc.rs` compiles and runs it.

use codegen::config::{Dialect, TypeConfig};
use quarry_tests::{fixture_sources, generate_fixture, generate_fixture_with, server};

const SCHEMA: &str =
    "CREATE TABLE authors (id bigserial PRIMARY KEY, name text NOT NULL, bio text);\nCREATE INDEX ON authors (name);\n";

const QUERIES: &str = "/* name: GetAuthor :one */
SELECT id, name FROM authors WHERE id = $1;

/* name: ListAuthorsByIds :many */
-- The authors with these ids.
SELECT id, name FROM authors WHERE id IN (sqlc.slice(ids)) ORDER BY id;

/* name: DeleteOthers :execresult */
DELETE FROM authors WHERE id NOT IN (sqlc.slice('keep'));

-- name: RenameAuthor :execrows
UPDATE authors SET name = @name WHERE id = @id;

/* name: CreateAuthors :execresult */
INSERT INTO authors (name) SELECT * FROM unnest(sqlc.arg(names)::text[]);

/* name: CountAuthors :execresult */
SELECT id FROM authors;

/* name: DeleteNamed :execresult */
DELETE FROM authors WHERE true /*? AND name = :name */;
";

fn sqlc() -> TypeConfig {
    TypeConfig {
        dialect: Dialect::Sqlc,
        ..TypeConfig::default()
    }
}

/// The rendered diagnostics of a failed run, with the temporary paths gone.
fn rendered(result: Result<codegen::Output, codegen::Error>) -> String {
    match result {
        Ok(_) => panic!("expected the run to fail"),
        Err(error) => error.to_string(),
    }
}

#[tokio::test]
async fn block_headers_exec_kinds_and_slices_generate() {
    for types in [TypeConfig::default(), sqlc()] {
        let output = generate_fixture_with("authors.sql", QUERIES.as_bytes(), SCHEMA, types)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(output.warnings.is_empty(), "{:?}", output.warnings);
        let reports: Vec<(&str, &str, &str, Vec<&str>)> = output
            .reports
            .iter()
            .map(|r| {
                let params = r.params.iter().map(|p| p.pg_type.as_str()).collect();
                (r.name.as_str(), r.kind.as_str(), r.sql.as_str(), params)
            })
            .collect();
        assert_eq!(
            reports,
            [
                (
                    "GetAuthor",
                    ":one",
                    "SELECT id, name FROM authors WHERE id = $1",
                    vec!["int8"]
                ),
                (
                    "ListAuthorsByIds",
                    ":many",
                    "SELECT id, name FROM authors WHERE id = ANY($1) ORDER BY id",
                    vec!["_int8"]
                ),
                (
                    "DeleteOthers",
                    ":execresult",
                    "DELETE FROM authors WHERE id <> ALL($1)",
                    vec!["_int8"]
                ),
                (
                    "RenameAuthor",
                    ":exec",
                    "UPDATE authors SET name = $1 WHERE id = $2",
                    vec!["text", "int8"]
                ),
                (
                    "CreateAuthors",
                    ":execresult",
                    "INSERT INTO authors (name) SELECT * FROM unnest($1::text[])",
                    vec!["_text"]
                ),
                (
                    "CountAuthors",
                    ":execresult",
                    "SELECT id FROM authors",
                    vec![]
                ),
                (
                    "DeleteNamed",
                    ":execresult",
                    "DELETE FROM authors WHERE true  AND name = $1",
                    vec!["text"]
                ),
            ]
        );
        let code = output
            .files
            .iter()
            .find(|(path, _)| path.ends_with("authors.rs"))
            .map(|(_, code)| code.as_str())
            .unwrap_or_else(|| panic!("no authors.rs in {:?}", output.files.keys()));
        for expected in [
            "/// The authors with these ids.",
            "ids: &[i64],\n) -> Result<Vec<ListAuthorsByIdsRow>, quarry::Error>",
            "keep: &[i64],\n) -> Result<quarry::ExecResult, quarry::Error>",
            "quarry::execute_result(db, &QUERY, &[&keep], quarry::Command::Delete).await",
            "id: i64,\n) -> Result<u64, quarry::Error>",
            "quarry::execute(db, &QUERY, &[&name, &id]).await",
            "quarry::Command::Insert",
            // The row-wise form of an `unnest` insert returns the result too.
            "items: &[CreateAuthorsItem],\n) -> Result<quarry::ExecResult, quarry::Error>",
            "quarry::Command::Select",
            // A dynamic query's variants run the same way.
            "quarry::execute_result(db, query, args.as_slice(), quarry::Command::Delete)",
        ] {
            assert!(code.contains(expected), "missing {expected:?} in:\n{code}");
        }
        // `<name>_with` of a `:execresult` query returns its result too.
        assert!(
            code.contains(
                "params: &DeleteOthersParams,\n) -> Result<quarry::ExecResult, quarry::Error>"
            ),
            "{code}"
        );
    }
}

#[tokio::test]
async fn execlastid_is_mysql_only() {
    let sql = "/* name: NewAuthor :execlastid */\nINSERT INTO authors (name) VALUES ($1);\n";
    let error = rendered(generate_fixture("bad.sql", sql.as_bytes(), SCHEMA).await);
    assert_eq!(
        error,
        "\
error: `:execlastid` is MySQL-only (LAST_INSERT_ID)
 --> queries/bad.sql:1:20
  |
1 | /* name: NewAuthor :execlastid */
  |                    ^^^^^^^^^^^ PostgreSQL has no last insert id
  |
  = help: use `INSERT … RETURNING id` with `:one`

error: aborting due to 1 error; nothing was written
"
    );
}

#[tokio::test]
async fn sqlc_slice_outside_in_is_an_error_at_it() {
    let sql = "-- name: Tagged :many\nSELECT id FROM authors\nWHERE id = ANY(sqlc.slice(ids));\n";
    let error = rendered(generate_fixture("bad.sql", sql.as_bytes(), SCHEMA).await);
    assert_eq!(
        error,
        "\
error: `sqlc.slice` outside of `IN (…)`
 --> queries/bad.sql:3:16
  |
3 | WHERE id = ANY(sqlc.slice(ids));
  |                ^^^^^^^^^^^^^^^ supported only as the whole list of an `IN (…)`
  |
  = help: write `col IN (sqlc.slice(ids))` or `col NOT IN (sqlc.slice(ids))` (they become `= ANY($n)` and `<> ALL($n)`), or use an array parameter: `col = ANY(:ids)`

error: aborting due to 1 error; nothing was written
"
    );
}

/// A file that is a schema and a query file at once (sqlc allows it).
const SCHEMA_AND_QUERIES: &str =
    "CREATE TABLE authors (id bigserial PRIMARY KEY, name text NOT NULL);
INSERT INTO authors (name) VALUES ('a');

/* name: CountAuthors :one */
SELECT count(*) AS n FROM authors;
CREATE INDEX authors_name ON authors (name);

-- name: DeleteAuthor :execrows
DELETE FROM authors WHERE id = $1;
";

#[tokio::test]
async fn headerless_statements_are_skipped_in_sqlc_mode() {
    let mut sources = fixture_sources(
        "authors.sql",
        SCHEMA_AND_QUERIES.as_bytes(),
        SCHEMA_AND_QUERIES,
        sqlc(),
    );
    // A query file without any header: no queries, no error.
    sources.query_file("queries/schema_only.sql", SCHEMA);
    let output = codegen::generate_sources(&sources, server())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((output.query_files, output.queries), (2, 2));
    let queries: Vec<(&str, &str)> = output
        .reports
        .iter()
        .map(|r| (r.name.as_str(), r.sql.as_str()))
        .collect();
    assert_eq!(
        queries,
        [
            ("CountAuthors", "SELECT count(*) AS n FROM authors"),
            ("DeleteAuthor", "DELETE FROM authors WHERE id = $1"),
        ]
    );
    // The file without a query gets no module.
    let files: Vec<String> = output
        .files
        .keys()
        .map(|p| p.display().to_string())
        .collect();
    assert_eq!(files, ["authors.rs", "mod.rs"]);
    let mod_rs = &output.files[std::path::Path::new("mod.rs")];
    assert!(!mod_rs.contains("mod schema_only"), "{mod_rs}");
}

#[tokio::test]
async fn headerless_statements_are_an_error_in_quarry_mode() {
    let result = generate_fixture("authors.sql", SCHEMA_AND_QUERIES.as_bytes(), SCHEMA).await;
    let error = rendered(result);
    let found: Vec<&str> = error
        .lines()
        .filter(|line| line.starts_with("error") || line.starts_with(" -->"))
        .collect();
    assert_eq!(
        found,
        [
            "error: SQL outside of a query",
            " --> queries/authors.sql:1:1",
            "error: more than one statement in a query",
            " --> queries/authors.sql:6:1",
            "error: aborting due to 2 errors; nothing was written",
        ]
    );
}

#[tokio::test]
async fn execresult_needs_a_tag_with_a_row_count() {
    let sql = "/* name: Empty :execresult */\nTRUNCATE authors;\n";
    let error = rendered(generate_fixture("bad.sql", sql.as_bytes(), SCHEMA).await);
    let head: Vec<&str> = error.lines().take(2).collect();
    assert_eq!(
        head,
        [
            "error: query `Empty` is declared `:execresult` but its statement's command tag carries no row count",
            " --> queries/bad.sql:1:16",
        ]
    );
}
