//! Hostile and unusual input that used to crash the generator or report the
//! wrong place: expressions deep enough to overflow the stack, `-- name:`
//! lines inside strings, a byte order mark, NUL bytes, PostgreSQL errors
//! without a position, very long lines, and migrations with statements that
//! cannot run inside a transaction block. Every case ends in a rustc-style
//! diagnostic at the right `file:line:col`, or in generated code.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use quarry_tests::{codegen_bin, generate_fixture, server, TestDb};

const SCHEMA: &str = "
CREATE TABLE posts (id bigserial PRIMARY KEY, title text NOT NULL, body text);
";

/// `n` terms joined by ` + `: a left-deep chain `n - 1` levels deep.
fn chain(n: usize) -> String {
    vec!["1"; n].join(" + ")
}

/// The rendered error diagnostics of a failed run as `(file:line:col, message)`,
/// after checking each is rustc-style.
fn errors(result: Result<codegen::Output, codegen::Error>) -> Vec<(String, String)> {
    let error = match result {
        Ok(output) => panic!("expected an error, got {} files", output.files.len()),
        Err(error) => error,
    };
    let codegen::Error::Diagnostics(diagnostics) = &error else {
        panic!("expected diagnostics, got: {error}");
    };
    diagnostics
        .0
        .iter()
        .filter(|d| d.is_error())
        .map(|d| {
            let position = d.position().unwrap_or_else(|| panic!("no position: {d}"));
            let text = d.render();
            assert!(text.contains(&format!("--> {position}\n")), "{text}");
            assert!(text.contains('^'), "no caret in:\n{text}");
            let short = position.rsplit('/').next().unwrap_or_default().to_string();
            (short, d.message.clone())
        })
        .collect()
}

async fn single_error(file_name: &str, queries: &[u8], schema: &str) -> (String, String) {
    let result = generate_fixture(file_name, queries, schema).await;
    let mut all = errors(result);
    assert_eq!(all.len(), 1, "expected one error, got {all:#?}");
    all.remove(0)
}

// --- deep nesting --------------------------------------------------------

/// Clusters (directories and server processes) the process `pid` started.
fn clusters_of(pid: u32) -> Vec<String> {
    let marker = format!("quarry-pg-{pid}-");
    let mut found = Vec::new();
    if let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with(&marker) {
                found.push(format!("directory {}", entry.path().display()));
            }
        }
    }
    if let Ok(entries) = std::fs::read_dir("/proc") {
        for entry in entries.flatten() {
            let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
            if String::from_utf8_lossy(&cmdline).contains(&marker) {
                found.push(format!("process {}", entry.file_name().to_string_lossy()));
            }
        }
    }
    found
}

/// Runs `codegen generate` on one query file, on an ephemeral cluster of its own.
fn run_binary(query: &[u8]) -> (Output, u32, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    std::fs::create_dir_all(dir.path().join("queries")).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.path().join("queries/deep.sql"), query).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.path().join("schema.sql"), SCHEMA).unwrap_or_else(|e| panic!("{e}"));
    let child = Command::new(codegen_bin())
        .current_dir(dir.path())
        .args(["generate", "--queries", "queries", "--schema", "schema.sql"])
        .args(["--out", "out"])
        .env_remove("DATABASE_URL")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("run codegen: {e}"));
    let pid = child.id();
    let output = child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("wait for codegen: {e}"));
    (output, pid, dir)
}

#[test]
fn deep_expressions_through_the_binary_are_diagnostics_and_leave_no_server() {
    for (query, at) in [
        // 350,000 terms, 1.4 MB: used to overflow the stack and abort (exit 134).
        (
            format!("-- name: Deep :one\nSELECT {} AS x;\n", chain(350_000)),
            format!(
                "--> queries/deep.sql:2:{}\n",
                "SELECT ".len() + 1000 * 4 + 3
            ),
        ),
        (
            format!(
                "-- name: Deep :one\nSELECT {}1{} AS x;\n",
                "(".repeat(100_000),
                ")".repeat(100_000)
            ),
            format!("--> queries/deep.sql:2:{}\n", "SELECT ".len() + 1001),
        ),
    ] {
        let (output, pid, dir) = run_binary(query.as_bytes());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{stderr}");
        assert!(
            stderr
                .starts_with("error: query `Deep` is too deeply nested (more than 1000 levels)\n"),
            "{stderr}"
        );
        assert!(stderr.contains(&at), "{stderr}");
        assert!(stderr.contains("nothing was written"), "{stderr}");
        // The shown source line is a window, not 1.4 MB.
        assert!(stderr.len() < 2000, "{} bytes of stderr", stderr.len());
        assert!(!dir.path().join("out").exists());
        assert_eq!(clusters_of(pid), Vec::<String>::new());
    }
}

#[tokio::test]
async fn deep_nesting_through_the_library_is_an_error_at_the_limit() {
    let cases = [
        format!("-- name: Deep :one\nSELECT {} AS x;\n", chain(350_000)),
        format!(
            "-- name: Deep :one\nSELECT {}1{} AS x;\n",
            "(".repeat(100_000),
            ")".repeat(100_000)
        ),
        format!(
            "-- name: Deep :one\nSELECT {} 1 {}AS x;\n",
            "CASE WHEN true THEN ".repeat(5000),
            "END ".repeat(5000)
        ),
        format!(
            "-- name: Deep :one\nSELECT {}1{} AS x;\n",
            "(SELECT ".repeat(5000),
            ")".repeat(5000)
        ),
        format!(
            "-- name: Deep :many\nSELECT id FROM posts WHERE {};\n",
            vec!["id = :id"; 1000].join("\n  OR ")
        ),
    ];
    for query in cases {
        let (at, message) = single_error("deep.sql", query.as_bytes(), SCHEMA).await;
        assert!(at.starts_with("deep.sql:"), "{at}");
        assert_eq!(
            message,
            "query `Deep` is too deeply nested (more than 1000 levels)"
        );
    }
}

#[test]
fn nesting_just_under_the_limit_is_generated() {
    // Parsing, analysing and dropping a tree this deep needs more than the
    // 2 MiB stack of a test thread in a debug build: the pipeline runs on a
    // large stack, as the CLI and the build script API do.
    let query = format!(
        "-- name: Wide :one\nSELECT {} AS x, {} AS \"y\";\n",
        chain(995),
        chain(995)
    );
    let output = codegen::with_large_stack(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        runtime.block_on(async {
            let result = generate_fixture("wide.sql", query.as_bytes(), SCHEMA).await;
            result.unwrap_or_else(|e| panic!("{e}"))
        })
    });
    let columns: Vec<(&str, &str, bool)> = output.reports[0]
        .columns
        .iter()
        .map(|c| (c.name.as_str(), c.pg_type.as_str(), c.nullable))
        .collect();
    assert_eq!(columns, [("x", "int4", false), ("y", "int4", false)]);
}

// --- `-- name:` inside strings ---------------------------------------------

#[tokio::test]
async fn name_headers_inside_strings_stay_in_the_string() {
    let queries = "-- name: Dollar :one\nSELECT $$\n-- name: X :one\n$$::text AS a, $q$\n-- name: Z :many\n$q$::text AS z;\n\n\
                   -- name: Quoted :one\nSELECT '\n-- name: Y\n'::text AS b, E'\\'\n-- name: W :exec\n'::text AS w;\n\n\
                   -- name: Ident :one\nSELECT 1 AS \"\n-- name: V :one\n\" /*\n-- name: U :one\n*/;\n";
    let result = generate_fixture("strings.sql", queries.as_bytes(), SCHEMA).await;
    let output = result.unwrap_or_else(|e| panic!("{e}"));
    let names: Vec<&str> = output.reports.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["Dollar", "Quoted", "Ident"]);
    // What reaches PostgreSQL is the whole string.
    let db = TestDb::new("hardening_strings").await;
    let row = db
        .client
        .query_one(&output.reports[0].sql, &[])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(row.get::<_, String>(0), "\n-- name: X :one\n");
    assert_eq!(row.get::<_, String>(1), "\n-- name: Z :many\n");
    let row = db
        .client
        .query_one(&output.reports[1].sql, &[])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(row.get::<_, String>(0), "\n-- name: Y\n");
    assert_eq!(row.get::<_, String>(1), "'\n-- name: W :exec\n");
    let column = &output.reports[2].columns[0].name;
    assert_eq!(column, "\n-- name: V :one\n");
}

// --- byte order mark and NUL bytes -------------------------------------------

#[tokio::test]
async fn a_byte_order_mark_is_not_sql() {
    let bom = "\u{feff}";
    let query = format!("{bom}-- name: Titles :many\nSELECT title FROM posts;\n");
    let schema = format!("{bom}{SCHEMA}");
    let result = generate_fixture("bom.sql", query.as_bytes(), &schema).await;
    let output = result.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(output.reports[0].name, "Titles");

    // Columns do not count the mark: the same places as without it.
    let (at, message) = single_error(
        "bom.sql",
        format!("{bom}-- name: Q :first\nSELECT 1;\n").as_bytes(),
        SCHEMA,
    )
    .await;
    assert_eq!(
        (at.as_str(), message.as_str()),
        ("bom.sql:1:12", "unknown query kind `:first`")
    );
    let (at, _) = single_error(
        "bom.sql",
        format!("{bom}-- name: Q :many\nSELECT titl FROM posts;\n").as_bytes(),
        SCHEMA,
    )
    .await;
    assert_eq!(at, "bom.sql:2:8");
    let (at, message) = single_error(
        "bom.sql",
        b"-- name: Q :many\nSELECT 1 AS one;\n",
        &format!("{bom}CREATE TABLE t (a int);\nCREATE TABLE t (a int);\n"),
    )
    .await;
    assert_eq!(at, "schema.sql:2:1");
    assert_eq!(message, "schema error: relation \"t\" already exists");
}

#[tokio::test]
async fn nul_bytes_are_reported_where_they_are() {
    let (at, message) =
        single_error("nul.sql", b"-- name: Q :one\nSELECT 'a\0b' AS x;\n", SCHEMA).await;
    assert_eq!(
        (at.as_str(), message.as_str()),
        ("nul.sql:2:10", "file contains a NUL byte")
    );
    let (at, message) = single_error(
        "ok.sql",
        b"-- name: Q :one\nSELECT 1 AS one;\n",
        "CREATE TABLE a (x int);\n\nCREATE TABLE b (y text DEFAULT 'caf\u{e9}\0');\n",
    )
    .await;
    assert_eq!(
        (at.as_str(), message.as_str()),
        ("schema.sql:3:37", "file contains a NUL byte")
    );
}

// --- errors without a position ---------------------------------------------

#[tokio::test]
async fn errors_without_a_position_point_at_their_statement() {
    // "relation does not exist" for a foreign key target has no position.
    let schema = "CREATE TABLE a (id int PRIMARY KEY);\n\n-- the broken one:\n  CREATE TABLE b (id int REFERENCES nope (id));\nCREATE TABLE c (id int);\n";
    let (at, message) =
        single_error("ok.sql", b"-- name: Q :one\nSELECT 1 AS one;\n", schema).await;
    assert_eq!(at, "schema.sql:4:3");
    assert_eq!(message, "schema error: relation \"nope\" does not exist");

    // A query error without a position points at the query's SQL, not 1:1.
    let query = "-- name: First :one\nSELECT 1 AS one;\n\n-- name: Locked :one\n-- Docs.\n  SELECT count(*) AS n\n  FROM posts FOR UPDATE;\n";
    let (at, message) = single_error("locked.sql", query.as_bytes(), SCHEMA).await;
    assert_eq!(at, "locked.sql:6:3");
    assert_eq!(
        message,
        "FOR UPDATE is not allowed with aggregate functions"
    );
}

#[tokio::test]
async fn schema_errors_with_a_position_are_mapped_into_their_statement() {
    let schema = "CREATE TABLE a (id int);\n-- a ; in a comment\nCREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1; $$;\nCREATE TABLE b (id int, x nosuchtype);\n";
    let (at, message) =
        single_error("ok.sql", b"-- name: Q :one\nSELECT 1 AS one;\n", schema).await;
    assert_eq!(at, "schema.sql:4:27");
    assert_eq!(message, "schema error: type \"nosuchtype\" does not exist");
}

// --- long lines --------------------------------------------------------------

#[tokio::test]
async fn long_lines_are_cut_around_the_caret() {
    let padding = (0..400)
        .map(|i| format!("{i} AS c{i}"))
        .collect::<Vec<_>>()
        .join(", ");
    let query = format!("-- name: Long :one\nSELECT {padding}, titl, {padding} FROM posts;\n");
    let result = generate_fixture("long.sql", query.as_bytes(), SCHEMA).await;
    let error = match result {
        Err(codegen::Error::Diagnostics(d)) => d,
        other => panic!("expected diagnostics, got {other:?}"),
    };
    let diagnostic = &error.0[0];
    let col = "SELECT ".len() + padding.chars().count() + ", ".len() + 1;
    assert_eq!(
        diagnostic
            .position()
            .as_deref()
            .and_then(|p| p.rsplit('/').next()),
        Some(format!("long.sql:2:{col}").as_str())
    );
    let rendered = diagnostic.render();
    let lines: Vec<&str> = rendered.lines().collect();
    let source = lines[3]
        .strip_prefix("2 | ")
        .unwrap_or_else(|| panic!("{rendered}"));
    let caret = lines[4]
        .strip_prefix("  | ")
        .unwrap_or_else(|| panic!("{rendered}"));
    assert!(
        source.starts_with("...") && source.ends_with("..."),
        "{rendered}"
    );
    assert!(source.chars().count() <= 126, "{rendered}");
    let lead = caret.find('^').unwrap_or_else(|| panic!("{rendered}"));
    assert_eq!(&source[lead..lead + 4], "titl", "{rendered}");
}

// --- statements that cannot run in a transaction block -----------------------

async fn generate_with_migrations(
    migrations: &[(&str, &str)],
    queries: &str,
) -> (Result<codegen::Output, codegen::Error>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let write = |path: PathBuf, text: &str| {
        std::fs::create_dir_all(path.parent().unwrap_or(Path::new(".")))
            .unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(path, text).unwrap_or_else(|e| panic!("{e}"));
    };
    for (name, text) in migrations {
        write(dir.path().join("migrations").join(name), text);
    }
    write(dir.path().join("queries/q.sql"), queries);
    let config = codegen::Config {
        queries: dir.path().join("queries"),
        more_queries: Vec::new(),
        schema: vec![dir.path().join("migrations")],
        out: dir.path().join("out"),
        types: codegen::config::TypeConfig::default(),
    };
    (codegen::generate(&config, server()).await, dir)
}

#[tokio::test]
async fn concurrent_index_statements_run_outside_the_transaction() {
    let migrations = [
        (
            "0001_init.up.sql",
            "CREATE TYPE mood AS ENUM ('happy');\n\
             CREATE TABLE items (id bigint PRIMARY KEY, name text NOT NULL, mood mood);\n\
             CREATE INDEX CONCURRENTLY items_name_idx ON items (name);\n\
             CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS items_lower_idx ON items (lower(name));\n\
             ALTER TABLE items ADD COLUMN note text;\n",
        ),
        ("0001_init.down.sql", "DROP TABLE items;\n"),
        (
            "0002_more.up.sql",
            "ALTER TYPE mood ADD VALUE 'sad';\n\
             -- using the new value needs the ADD VALUE committed first\n\
             ALTER TABLE items ALTER COLUMN mood SET DEFAULT 'sad';\n\
             DROP INDEX CONCURRENTLY items_lower_idx;\n\
             REINDEX TABLE CONCURRENTLY items;\n\
             CREATE VIEW named AS SELECT id, name FROM items WHERE name <> '';\n",
        ),
    ];
    let queries =
        "-- name: Named :many\nSELECT id, name, note, mood FROM items WHERE name = :name;\n";
    let (result, _dir) = generate_with_migrations(&migrations, queries).await;
    let output = result.unwrap_or_else(|e| panic!("{e}"));
    let columns: Vec<&str> = output.reports[0]
        .columns
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(columns, ["id", "name", "note", "mood"]);

    // Errors after a statement applied on its own still point at their place.
    let migrations = [(
        "0001_init.up.sql",
        "CREATE TABLE items (id bigint PRIMARY KEY, name text);\n\
         CREATE INDEX CONCURRENTLY items_name_idx ON items (name);\n\
         CREATE TABLE other (id int, x nosuchtype);\n",
    )];
    let (result, _dir) = generate_with_migrations(&migrations, queries).await;
    let all = errors(result);
    assert_eq!(
        all,
        [(
            "0001_init.up.sql:3:31".to_string(),
            "schema error: type \"nosuchtype\" does not exist".to_string()
        )]
    );
}
