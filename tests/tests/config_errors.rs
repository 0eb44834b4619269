//! `quarry.toml` mistakes as the `codegen` binary reports them: exit status
//! 2, a rustc-style diagnostic at the exact `file:line:column`, nothing
//! written — and all of it before any PostgreSQL is needed (the runs hide
//! the server binaries, so reaching for a server would fail differently).

use std::path::Path;
use std::process::{Command, Output};

use quarry_tests::{codegen_bin, path_without_postgres};

/// A project with one valid query file and a schema file, and `config` as
/// `quarry.toml` (at `config_path`, relative to the project).
fn project(config_path: &str, config: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let write = |path: &str, text: &str| {
        let path = dir.path().join(path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("{e}"));
        }
        std::fs::write(path, text).unwrap_or_else(|e| panic!("{e}"));
    };
    write(
        "queries/lists.sql",
        "-- name: ListCount :one\nSELECT count(*) AS n FROM lists;\n",
    );
    write(
        "schema/0001_init.up.sql",
        "CREATE TABLE lists (id bigserial PRIMARY KEY);\n",
    );
    write(config_path, config);
    dir
}

/// Runs `codegen` with `args` in `dir`, with no PostgreSQL reachable.
fn codegen(dir: &Path, args: &[&str]) -> Output {
    Command::new(codegen_bin())
        .args(args)
        .current_dir(dir)
        .env("PATH", path_without_postgres())
        .env("QUARRY_PG_ROOT", "")
        .env_remove("QUARRY_PG_BIN")
        .env_remove("DATABASE_URL")
        .output()
        .unwrap_or_else(|e| panic!("run codegen: {e}"))
}

/// Asserts exit status 2, no output directory, and returns stderr.
fn fails(dir: &Path, args: &[&str]) -> String {
    let output = codegen(dir, args);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(
        output.status.code(),
        Some(2),
        "expected exit status 2; stderr:\n{stderr}"
    );
    assert!(
        !stderr.contains("PostgreSQL server binaries"),
        "a configuration error must be reported before looking for a server:\n{stderr}"
    );
    assert!(
        !dir.join("out").exists(),
        "nothing may be written on a configuration error"
    );
    stderr
}

fn assert_diagnostic(stderr: &str, message: &str, location: &str, source_line: &str) {
    assert!(
        stderr.starts_with(&format!("error: {message}")),
        "expected `error: {message}`, got:\n{stderr}"
    );
    assert!(
        stderr.contains(&format!("\n --> {location}\n")),
        "expected the location {location}, got:\n{stderr}"
    );
    assert!(
        stderr.contains(source_line),
        "expected the source line {source_line:?}, got:\n{stderr}"
    );
}

#[test]
fn unknown_key_is_reported_at_its_position() {
    let dir = project(
        "quarry.toml",
        "queries = \"queries\"\nschema = \"schema\"\nout = \"out\"\n\n[derives]\nrows = [\"Eq\"]\nstructs = [\"Hash\"]\n",
    );
    let stderr = fails(dir.path(), &[]);
    assert_diagnostic(
        &stderr,
        "invalid configuration: unknown field `structs`",
        "quarry.toml:7:1",
        "7 | structs = [\"Hash\"]",
    );
    assert!(stderr.contains("see docs/config.md"), "{stderr}");

    let dir = project(
        "quarry.toml",
        "queries = \"queries\"\nschema = \"schema\"\nout = \"out\"\ncolour = \"blue\"\n",
    );
    let stderr = fails(dir.path(), &["check"]);
    assert_diagnostic(
        &stderr,
        "invalid configuration: unknown field `colour`",
        "quarry.toml:4:1",
        "4 | colour = \"blue\"",
    );
}

#[test]
fn wrong_type_is_reported_at_the_value() {
    let dir = project(
        "quarry.toml",
        "queries = 42\nschema = \"schema\"\nout = \"out\"\n",
    );
    let stderr = fails(dir.path(), &[]);
    assert_diagnostic(
        &stderr,
        "invalid configuration: invalid type: integer `42`, expected a string",
        "quarry.toml:1:11",
        "1 | queries = 42",
    );

    let dir = project(
        "quarry.toml",
        "queries = \"queries\"\nschema = \"schema\"\nout = \"out\"\n\n[domains]\nnewtypes = \"yes\"\n",
    );
    let stderr = fails(dir.path(), &[]);
    assert_diagnostic(
        &stderr,
        "invalid configuration: invalid type: string \"yes\", expected a boolean",
        "quarry.toml:6:12",
        "6 | newtypes = \"yes\"",
    );
}

#[test]
fn config_named_with_flag_is_shown_by_its_path() {
    let dir = project(
        "config/quarry.toml",
        "queries = \"../queries\"\nschema = \"../schema\"\nout = \"../out\"\ntime_crate = \"std\"\n",
    );
    let stderr = fails(dir.path(), &["--config", "config/quarry.toml"]);
    assert!(
        stderr.contains("\n --> config/quarry.toml:4:14\n"),
        "expected the location config/quarry.toml:4:14, got:\n{stderr}"
    );
}

#[test]
fn missing_query_directory_is_named() {
    let dir = project(
        "quarry.toml",
        "queries = \"sql\"\nschema = \"schema\"\nout = \"out\"\n",
    );
    let stderr = fails(dir.path(), &[]);
    assert!(
        stderr.contains("error: `queries`: `sql` does not exist\n --> quarry.toml:1:11\n"),
        "the error must name the key, the missing directory and its position:\n{stderr}"
    );

    // The same for `check`, and for a missing schema path.
    let dir = project(
        "quarry.toml",
        "queries = \"queries\"\nschema = [\"schema\", \"migrations\"]\nout = \"out\"\n",
    );
    let stderr = fails(dir.path(), &["check"]);
    assert!(
        stderr.contains("error: `schema`: `migrations` does not exist\n --> quarry.toml:2:10\n"),
        "the error must name the missing schema directory and its position:\n{stderr}"
    );
}
