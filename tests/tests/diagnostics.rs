//! Bad input: every case must produce a rustc-style diagnostic with the right
//! message and `file:line:col`, never a panic and never output.

use quarry_tests::generate_fixture;

const SCHEMA: &str = "
CREATE TYPE mood AS ENUM ('happy', 'sad');
CREATE TABLE authors (id bigserial PRIMARY KEY, name text NOT NULL, mood mood);
CREATE TABLE posts (
    id bigserial PRIMARY KEY,
    author_id bigint NOT NULL REFERENCES authors (id),
    title text NOT NULL,
    body text,
    views int NOT NULL DEFAULT 0
);
";

/// Runs the generator on `sql` (as `bad.sql`) and returns every diagnostic as
/// `(position, message)`, checking the run failed and the rendering is rustc-style.
async fn diagnostics(sql: impl AsRef<[u8]>) -> Vec<(String, String)> {
    let (result, _dir) = generate_fixture("bad.sql", sql.as_ref(), SCHEMA).await;
    let error = match result {
        Ok(output) => panic!("expected an error, got {} files", output.files.len()),
        Err(error) => error,
    };
    let codegen::Error::Diagnostics(diagnostics) = &error else {
        panic!("expected diagnostics, got: {error}");
    };
    let rendered = diagnostics.to_string();
    assert!(rendered.contains("nothing was written"), "{rendered}");
    diagnostics
        .0
        .iter()
        .filter(|d| d.is_error())
        .map(|d| {
            let position = d.position().unwrap_or_default();
            // rustc layout: `error: msg`, ` --> file:line:col`, gutter, source line, caret.
            let text = d.render();
            assert!(text.starts_with(&format!("error: {}", d.message)), "{text}");
            assert!(text.contains(&format!("--> {position}")), "{text}");
            assert!(text.contains('^'), "no caret in:\n{text}");
            let short = position.rsplit('/').next().unwrap_or_default().to_string();
            (short, d.message.clone())
        })
        .collect()
}

async fn single(sql: impl AsRef<[u8]>) -> (String, String) {
    let mut all = diagnostics(sql).await;
    assert_eq!(all.len(), 1, "expected one error, got {all:#?}");
    all.remove(0)
}

#[tokio::test]
async fn syntax_error() {
    let (at, message) = single("-- name: Q :many\nSELECT id,\nFROM posts;\n").await;
    assert_eq!(at, "bad.sql:3:1");
    assert_eq!(message, "syntax error at or near \"FROM\"");
}

#[tokio::test]
async fn unknown_table() {
    let (at, message) = single("-- name: Q :many\nSELECT id FROM postz;\n").await;
    assert_eq!(at, "bad.sql:2:16");
    assert_eq!(message, "relation \"postz\" does not exist");
}

#[tokio::test]
async fn unknown_column_through_placeholder_rewrite() {
    // `:author` is rewritten to `$1` before PostgreSQL sees it; the caret must still land on `titl`.
    let (at, message) = single("-- name: Q :many\nSELECT p.id FROM posts p WHERE p.author_id = :author AND p.titl = 'x';\n").await;
    assert_eq!(at, "bad.sql:2:58");
    assert_eq!(message, "column p.titl does not exist");
}

#[tokio::test]
async fn bad_header() {
    let (at, message) = single("-- name: Q :first\nSELECT 1 AS one;\n").await;
    assert_eq!(at, "bad.sql:1:12");
    assert_eq!(message, "unknown query kind `:first`");
    let (at, message) = single("-- name: 9lives :one\nSELECT 1 AS one;\n").await;
    assert_eq!(at, "bad.sql:1:10");
    assert_eq!(message, "invalid query name `9lives`");
}

#[tokio::test]
async fn unknown_directive() {
    let (at, message) =
        single("-- name: Q :many\n-- Docs.\n-- @nulable title\nSELECT title FROM posts;\n").await;
    assert_eq!(at, "bad.sql:3:4");
    assert_eq!(message, "unknown directive `@nulable`");
}

#[tokio::test]
async fn duplicate_query_name() {
    let (at, message) =
        single("-- name: Q :many\nSELECT 1 AS a;\n\n-- name: Q :many\nSELECT 2 AS b;\n").await;
    assert_eq!(at, "bad.sql:4:10");
    assert_eq!(message, "duplicate query name `Q`");
}

#[tokio::test]
async fn one_on_insert_without_returning() {
    let (at, message) = single("-- name: AddPost :one\nINSERT INTO posts (author_id, title) VALUES (:author_id, :title);\n").await;
    assert_eq!(at, "bad.sql:1:18");
    assert_eq!(
        message,
        "query `AddPost` is declared `:one` but INSERT without RETURNING returns no rows"
    );
}

#[tokio::test]
async fn type_error_in_sql() {
    let (at, message) =
        single("-- name: Q :many\nSELECT id FROM posts WHERE views = 'many' || 1 + true;\n").await;
    assert_eq!(at, "bad.sql:2:48");
    assert_eq!(message, "operator does not exist: integer + boolean");
}

#[tokio::test]
async fn param_used_with_two_incompatible_types() {
    let (at, message) =
        single("-- name: Q :many\nSELECT id FROM posts WHERE title = :v OR views = :v;\n").await;
    assert_eq!(at, "bad.sql:2:48");
    assert_eq!(message, "operator does not exist: integer = text");
}

#[tokio::test]
async fn unterminated_string() {
    let (at, message) =
        single("-- name: Q :many\nSELECT id FROM posts\nWHERE title = 'oops;\n").await;
    assert_eq!(at, "bad.sql:3:15");
    assert_eq!(message, "unterminated string literal");
}

#[tokio::test]
async fn empty_file() {
    let (at, message) = single("").await;
    assert_eq!(at, "bad.sql:1:1");
    assert_eq!(message, "file contains no queries");
}

#[tokio::test]
async fn non_utf8_file() {
    let (at, message) = single(b"-- name: Q :many\nSELECT 'caf\xe9' AS word;\n".as_slice()).await;
    assert_eq!(at, "bad.sql:2:12");
    assert_eq!(message, "file is not valid UTF-8");
}

#[tokio::test]
async fn sql_without_header() {
    let (at, message) = single("-- a comment\nSELECT 1;\n").await;
    assert_eq!(at, "bad.sql:2:1");
    assert_eq!(message, "SQL outside of a query");
}

#[tokio::test]
async fn unnamed_and_duplicate_columns() {
    let all = diagnostics("-- name: A :many\nSELECT 1 + 1 FROM posts;\n\n-- name: B :many\nSELECT p.id, a.id FROM posts p JOIN authors a ON a.id = p.author_id;\n").await;
    assert_eq!(
        all,
        vec![
            (
                "bad.sql:2:1".to_string(),
                "query `A` returns a column without a name".to_string()
            ),
            (
                "bad.sql:5:1".to_string(),
                "query `B` returns two columns named `id`".to_string()
            ),
        ]
    );
}

#[tokio::test]
async fn unsupported_type_names_the_type() {
    let (at, message) = single("-- name: Age :many\nSELECT point(1, 2) AS age FROM posts;\n").await;
    assert_eq!(at, "bad.sql:1:10");
    assert_eq!(
        message,
        "unsupported type `point` for column `age` of query `Age`"
    );
}

#[tokio::test]
async fn override_of_unknown_column() {
    let (at, message) =
        single("-- name: Q :many\n-- @not_null title, bdy\nSELECT title, body FROM posts;\n").await;
    assert_eq!(at, "bad.sql:2:21");
    assert_eq!(message, "`bdy` is not a column of query `Q`");
}

#[tokio::test]
async fn all_errors_of_a_run_are_reported() {
    // One run, three independent problems in three queries: all reported, in file order.
    let all = diagnostics(
        "-- name: A :many\nSELECT nope FROM posts;\n\n-- name: B :one\n-- @bogus\nSELECT 1 AS x;\n\n-- name: C :one\nDELETE FROM posts;\n",
    )
    .await;
    let positions: Vec<&str> = all.iter().map(|(at, _)| at.as_str()).collect();
    assert_eq!(
        positions,
        vec!["bad.sql:5:4", "bad.sql:2:8", "bad.sql:8:12"]
    );
}

#[tokio::test]
async fn override_contradicting_a_proven_fact_is_a_warning() {
    let sql = "-- name: Q :many\nSELECT a.id, p.title AS \"title!\", count(*) AS \"n?\", NULL::text AS \"nothing!\"\nFROM authors a LEFT JOIN posts p ON p.author_id = a.id\nGROUP BY a.id, p.title;\n";
    let (result, _dir) = generate_fixture("ok.sql", sql.as_bytes(), SCHEMA).await;
    let output = result.unwrap_or_else(|e| panic!("{e}"));
    let warnings: Vec<(String, String)> = output
        .warnings
        .iter()
        .map(|w| {
            (
                w.position()
                    .unwrap_or_default()
                    .rsplit('/')
                    .next()
                    .unwrap_or_default()
                    .to_string(),
                w.message.clone(),
            )
        })
        .collect();
    assert_eq!(
        warnings,
        vec![
            (
                "ok.sql:2:25".to_string(),
                "`title` is declared not null, but it can be NULL".to_string()
            ),
            (
                "ok.sql:2:47".to_string(),
                "`n` is declared nullable, but it is proven never NULL".to_string()
            ),
            (
                "ok.sql:2:67".to_string(),
                "`nothing` is declared not null, but it can be NULL".to_string()
            ),
        ]
    );
    // Overrides still win.
    let columns = &output.reports[0].columns;
    let final_nullability: Vec<(&str, bool)> = columns
        .iter()
        .map(|c| (c.name.as_str(), c.nullable))
        .collect();
    assert_eq!(
        final_nullability,
        vec![
            ("id", false),
            ("title", false),
            ("n", true),
            ("nothing", false)
        ]
    );
}
