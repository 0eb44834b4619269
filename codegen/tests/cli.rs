//! The `codegen` binary as users run it: generate, check, and failing on bad
//! input without touching the output. Each run starts its own ephemeral
//! PostgreSQL (or uses `DATABASE_URL` when set), exactly as in real use.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

fn codegen(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_codegen"))
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap_or_else(|e| panic!("run codegen: {e}"))
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap_or_else(|e| panic!("{e}"));
    for entry in std::fs::read_dir(from).unwrap_or_else(|e| panic!("{e}")) {
        let entry = entry.unwrap_or_else(|e| panic!("{e}"));
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap_or_else(|e| panic!("{e}"));
        }
    }
}

/// A scratch project: a copy of the repository's `quarry.toml`, queries and
/// committed output.
fn scratch_project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let root = workspace_root();
    std::fs::copy(root.join("quarry.toml"), dir.path().join("quarry.toml"))
        .unwrap_or_else(|e| panic!("{e}"));
    copy_dir(&root.join("queries"), &dir.path().join("queries"));
    copy_dir(
        &root.join("examples/app/src/queries"),
        &dir.path().join("examples/app/src/queries"),
    );
    dir
}

fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>, std::time::SystemTime)> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{e}"))
        .map(|entry| {
            let path = entry.unwrap_or_else(|e| panic!("{e}")).path();
            let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{e}"));
            let modified = std::fs::metadata(&path)
                .and_then(|m| m.modified())
                .unwrap_or_else(|e| panic!("{e}"));
            (path, bytes, modified)
        })
        .collect();
    files.sort();
    files
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn check_passes_on_the_committed_tree() {
    let output = codegen(&workspace_root(), &["check"]);
    assert!(
        output.status.success(),
        "check failed:\n{}",
        text(&output.stderr)
    );
    assert!(
        text(&output.stdout).starts_with("up to date: "),
        "{}",
        text(&output.stdout)
    );
}

#[test]
fn generation_reproduces_the_committed_output_byte_for_byte_and_is_idempotent() {
    let project = scratch_project();
    let out = project.path().join("examples/app/src/queries");
    let before = snapshot(&out);
    for _ in 0..2 {
        let output = codegen(project.path(), &[]);
        assert!(output.status.success(), "{}", text(&output.stderr));
        let summary = text(&output.stdout);
        let queries: usize = ["blog.sql", "shop.sql"]
            .iter()
            .map(|f| {
                let sql = std::fs::read_to_string(project.path().join("queries").join(f))
                    .unwrap_or_default();
                sql.lines().filter(|l| l.starts_with("-- name:")).count()
            })
            .sum();
        assert!(
            summary.contains(&format!("({queries} queries)")),
            "{summary}"
        );
        assert!(
            summary.contains("0 written"),
            "committed output differs from a fresh run: {summary}"
        );
    }
    assert_eq!(snapshot(&out), before, "files (or their mtimes) changed");
}

#[test]
fn check_fails_after_a_query_edit_and_names_the_file() {
    let project = scratch_project();
    let blog = project.path().join("queries/blog.sql");
    let sql = std::fs::read_to_string(&blog).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(&blog, sql.replacen("SELECT", "SELECT  ", 1)).unwrap_or_else(|e| panic!("{e}"));
    let output = codegen(project.path(), &["check"]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("changed since generation: queries/blog.sql"),
        "{stderr}"
    );
    assert!(
        stderr.contains("stale: examples/app/src/queries/blog.rs (out of date)"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("changed since generation: queries/shop.sql"),
        "{stderr}"
    );
}

#[test]
fn a_bad_query_is_reported_and_nothing_is_written() {
    let project = scratch_project();
    let out = project.path().join("examples/app/src/queries");
    let before = snapshot(&out);
    let blog = project.path().join("queries/blog.sql");
    let mut sql = std::fs::read_to_string(&blog).unwrap_or_else(|e| panic!("{e}"));
    // A valid new query and a broken one: neither may reach the output.
    sql.push_str("\n-- name: NewQuery :many\nSELECT id FROM posts;\n\n-- name: Broken :many\nSELECT title FROM postss;\n");
    std::fs::write(&blog, &sql).unwrap_or_else(|e| panic!("{e}"));
    let line = sql.lines().count();
    let output = codegen(project.path(), &[]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("error: relation \"postss\" does not exist"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("--> queries/blog.sql:{line}:19")),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("{line} | SELECT title FROM postss;")),
        "{stderr}"
    );
    assert!(stderr.contains("^^^^^^"), "{stderr}");
    assert!(stderr.contains("nothing was written"), "{stderr}");
    assert_eq!(snapshot(&out), before, "output was touched");
}

#[test]
fn missing_query_directory_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let output = codegen(dir.path(), &["--queries", "nope"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert!(stderr.starts_with("error: nope: "), "{stderr}");
}

/// Writes `text` to `path` under `root`, creating its directories.
fn write_file(root: &Path, path: &str, text: &str) {
    let path = root.join(path);
    std::fs::create_dir_all(path.parent().unwrap_or(root)).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(path, text).unwrap_or_else(|e| panic!("{e}"));
}

/// A user's project with no configuration: `queries/` and `migrations/`.
fn bare_project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let write = |path: &str, text: &str| write_file(dir.path(), path, text);
    write(
        "queries/items.sql",
        "-- name: CountItems :one\nSELECT count(*) AS n FROM items;\n",
    );
    write(
        "migrations/0001_init.up.sql",
        "CREATE TABLE items (id bigserial PRIMARY KEY);\n",
    );
    write("migrations/0001_init.down.sql", "DROP TABLE items;\n");
    dir
}

/// Every file under `dir`, relative to it, sorted.
fn tree(dir: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{e}")) {
            let path = entry.unwrap_or_else(|e| panic!("{e}")).path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let relative = path.strip_prefix(root).unwrap_or(&path);
                out.push(relative.to_string_lossy().into_owned());
            }
        }
    }
    let mut files = Vec::new();
    walk(dir, dir, &mut files);
    files.sort();
    files
}

#[test]
fn without_configuration_the_defaults_are_a_user_project_layout() {
    let project = bare_project();
    let output = codegen(project.path(), &[]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(
        text(&output.stdout).contains("into src/db in"),
        "{}",
        text(&output.stdout)
    );
    assert_eq!(
        tree(project.path()),
        [
            "migrations/0001_init.down.sql",
            "migrations/0001_init.up.sql",
            "queries/items.sql",
            "src/db/items.rs",
            "src/db/mod.rs",
        ]
    );
    let check = codegen(project.path(), &["check"]);
    assert!(check.status.success(), "{}", text(&check.stderr));
}

#[test]
fn defaults_missing_from_quarry_toml_are_relative_to_its_directory() {
    let project = bare_project();
    // Only the time crate is set; run from a subdirectory.
    std::fs::write(
        project.path().join("quarry.toml"),
        "time_crate = \"chrono\"\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let subdirectory = project.path().join("queries");
    let output = codegen(&subdirectory, &[]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(project.path().join("src/db/mod.rs").is_file());
    assert!(!subdirectory.join("src").exists());
}

/// An sqlc project: only an `sqlc.yaml` (two entries), schema and query files.
fn sqlc_project(engine: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let write = |path: &str, text: &str| write_file(dir.path(), path, text);
    write(
        "sqlc.yaml",
        &format!(
            "version: \"2\"\n\
             overrides:\n  go:\n    rename:\n      bio: Biography\n\
             sql:\n\
             \x20 - engine: postgresql\n    schema: db/schema.sql\n    queries: db/authors.sql\n\
             \x20   codegen:\n      - plugin: quarry\n        out: gen/authors\n\
             \x20   gen:\n      go:\n        package: authors\n        out: internal/authors\n        emit_json_tags: true\n\
             \x20 - engine: {engine}\n    schema: [db/schema.sql]\n    queries: [db/books/list.sql, db/books/count.sql]\n\
             \x20   gen:\n      go:\n        package: books\n        out: internal/books\n"
        ),
    );
    write(
        "db/schema.sql",
        "CREATE TABLE authors (id bigserial PRIMARY KEY, name text NOT NULL, bio text);\n\
         CREATE TABLE books (id bigserial PRIMARY KEY, author_id bigint NOT NULL REFERENCES authors);\n",
    );
    write(
        "db/authors.sql",
        "-- name: GetAuthor :one\nSELECT id, name, bio FROM authors WHERE id = $1;\n",
    );
    write(
        "db/books/list.sql",
        "-- name: ListBooks :many\nSELECT id FROM books ORDER BY id;\n",
    );
    write(
        "db/books/count.sql",
        "-- name: CountBooks :one\nSELECT count(*) AS n FROM books;\n",
    );
    dir
}

#[test]
fn an_sqlc_yaml_alone_configures_every_entry() {
    let project = sqlc_project("postgresql");
    // Found from a subdirectory, like a quarry.toml.
    let output = codegen(&project.path().join("db"), &[]);
    let stderr = text(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains("Go-only options ignored: emit_json_tags, package"),
        "{stderr}"
    );
    assert!(
        stderr.contains("`sql[1]` (books) generates into `src/db/books`"),
        "{stderr}"
    );
    // The quarry plugin's `out` for the first entry, `src/db/<package>` for
    // the second; both of the second entry's query files read.
    let files: Vec<String> = tree(project.path())
        .into_iter()
        .filter(|f| f.starts_with("gen/") || f.starts_with("src/"))
        .collect();
    assert_eq!(
        files,
        [
            "gen/authors/authors.rs",
            "gen/authors/mod.rs",
            "src/db/books/count.rs",
            "src/db/books/list.rs",
            "src/db/books/mod.rs",
        ]
    );
    // sqlc's `rename` names the field.
    let authors = std::fs::read_to_string(project.path().join("gen/authors/authors.rs"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        authors.contains("pub biography: Option<String>"),
        "{authors}"
    );
    let check = codegen(project.path(), &["check"]);
    assert!(check.status.success(), "{}", text(&check.stderr));
    // A change to the second entry's second query file makes it stale.
    std::fs::write(
        project.path().join("db/books/count.sql"),
        "-- name: CountBooks :one\nSELECT count(*) AS books FROM books;\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let check = codegen(project.path(), &["check"]);
    assert_eq!(check.status.code(), Some(1), "{}", text(&check.stderr));
    assert!(
        text(&check.stderr).contains("src/db/books/count.rs (out of date)"),
        "{}",
        text(&check.stderr)
    );
}

#[test]
fn an_sqlc_entry_for_another_engine_is_an_error_naming_it() {
    let project = sqlc_project("mysql");
    let output = codegen(project.path(), &["check"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert!(
        stderr.starts_with(
            "error: `sql[1]` (books): engine `mysql` is not supported: Quarry generates for PostgreSQL only\n"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("sqlc.yaml:18:5"), "{stderr}");
    assert!(!project.path().join("gen").exists());
}
