//! Lints (docs/lints.md): one fixture per lint that triggers it, with a
//! snapshot of the rendered warning, and one near-miss that must not;
//! `-- @allow`, `[lints]` levels, and a denied lint failing `codegen` and
//! `codegen check`.

use std::path::Path;
use std::process::{Command, Output};

use quarry_tests::codegen_bin;
use quarry_tests::{generate_fixture, generate_from_disk, server};

const SCHEMA: &str = "
CREATE TABLE users (id bigserial PRIMARY KEY, email text NOT NULL, banned_by bigint);
CREATE TABLE posts (
    id bigserial PRIMARY KEY,
    author_id bigint NOT NULL REFERENCES users (id),
    editor_id bigint REFERENCES users (id),
    title text NOT NULL,
    published boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now()
);
";

/// Rendered diagnostics with paths cut to the file name.
fn cut_paths(rendered: &str) -> String {
    rendered
        .lines()
        .map(|line| match line.find("--> ") {
            Some(at) => format!(
                "{}--> {}",
                &line[..at],
                line[at + 4..].rsplit('/').next().unwrap_or_default()
            ),
            None => line.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Whether a diagnostic comes from lint `lint`.
fn is_from(diagnostic: &codegen::Diagnostic, lint: &str) -> bool {
    diagnostic
        .notes
        .iter()
        .any(|note| note.starts_with(&format!("`{lint}`")))
}

/// The rendered warnings of lint `lint` on the queries `sql` (which must generate).
async fn warnings_of(lint: &str, sql: &str) -> Vec<String> {
    let output = generate_fixture("q.sql", sql.as_bytes(), SCHEMA)
        .await
        .unwrap_or_else(|e| panic!("generation failed for:\n{sql}\n{e}"));
    output
        .warnings
        .iter()
        .filter(|w| is_from(w, lint))
        .map(|w| cut_paths(&w.render()))
        .collect()
}

/// Asserts the trigger warns exactly once (snapshot) and the near-miss not at all.
async fn check_lint(lint: &str, trigger: &str, near_miss: &str) {
    let found = warnings_of(lint, trigger).await;
    assert_eq!(found.len(), 1, "`{lint}` on:\n{trigger}\n{found:#?}");
    insta::assert_snapshot!(lint, found[0]);
    let missed = warnings_of(lint, near_miss).await;
    assert!(
        missed.is_empty(),
        "`{lint}` on the near-miss:\n{near_miss}\n{missed:#?}"
    );
}

#[tokio::test]
async fn update_without_where() {
    check_lint(
        "update_without_where",
        "-- name: PublishAll :exec\nUPDATE posts SET published = true;\n",
        "-- name: Publish :exec\nUPDATE posts SET published = true WHERE id = :id;\n",
    )
    .await;
}

#[tokio::test]
async fn delete_without_where() {
    check_lint(
        "delete_without_where",
        "-- name: Purge :exec\nWITH gone AS (DELETE FROM posts RETURNING id)\nSELECT count(*) AS n FROM gone;\n",
        "-- name: Delete :exec\nDELETE FROM posts WHERE id = :id;\n",
    )
    .await;
}

#[tokio::test]
async fn limit_without_order_by() {
    check_lint(
        "limit_without_order_by",
        "-- name: Some :many\nSELECT id, title FROM posts LIMIT :limit;\n",
        // Ordered, under EXISTS, and over one aggregate row: none warns.
        "-- name: Latest :many\nSELECT id, title FROM posts ORDER BY id DESC LIMIT :limit;\n\
         -- name: Any :one\nSELECT EXISTS (SELECT 1 FROM posts LIMIT 1) AS any;\n\
         -- name: Total :one\nSELECT count(*) AS n FROM posts LIMIT 1;\n",
    )
    .await;
}

#[tokio::test]
async fn fetch_first_without_order_by_warns_too() {
    let found = warnings_of(
        "limit_without_order_by",
        "-- name: Some :many\nSELECT id FROM (SELECT id FROM posts FETCH FIRST 3 ROWS ONLY) p ORDER BY id;\n",
    )
    .await;
    assert_eq!(found.len(), 1, "{found:#?}");
}

#[tokio::test]
async fn offset_pagination() {
    check_lint(
        "offset_pagination",
        "-- name: Page :many\nSELECT id, title FROM posts ORDER BY id LIMIT 20 OFFSET :skip;\n",
        // Keyset pagination, and `OFFSET 0` (the planner fence).
        "-- name: Page :many\nSELECT id, title FROM posts WHERE id > :after ORDER BY id LIMIT 20;\n\
         -- name: Fenced :many\nSELECT id FROM (SELECT id FROM posts OFFSET 0) p;\n",
    )
    .await;
}

#[tokio::test]
async fn select_star() {
    check_lint(
        "select_star",
        "-- name: Post :one\nSELECT p.* FROM posts p WHERE p.id = :id;\n",
        // `*` in a subquery, in EXISTS and in count(*) is not the row type.
        "-- name: Post :one\nSELECT id, title FROM (SELECT * FROM posts) p WHERE id = :id;\n\
         -- name: Any :one\nSELECT EXISTS (SELECT * FROM posts) AS any, (SELECT count(*) FROM posts) AS n;\n",
    )
    .await;
}

#[tokio::test]
async fn not_in_subquery_nullable() {
    check_lint(
        "not_in_subquery_nullable",
        "-- name: NeverEdited :many\nSELECT id FROM users WHERE id NOT IN (SELECT p.editor_id FROM posts p);\n",
        // A NOT NULL column, and a nullable one with its NULLs filtered out.
        "-- name: NeverWrote :many\nSELECT id FROM users WHERE id NOT IN (SELECT author_id FROM posts);\n\
         -- name: NeverEdited :many\nSELECT id FROM users WHERE id NOT IN (SELECT editor_id FROM posts WHERE editor_id IS NOT NULL);\n",
    )
    .await;
}

#[tokio::test]
async fn count_for_existence() {
    check_lint(
        "count_for_existence",
        "-- name: Taken :one\nSELECT (SELECT count(*) FROM users WHERE email = :email) > 0 AS taken;\n",
        // EXISTS, a real count comparison, and HAVING (groups, not existence).
        "-- name: Taken :one\nSELECT EXISTS (SELECT 1 FROM users WHERE email = :email) AS taken;\n\
         -- name: Busy :one\nSELECT count(*) > 10 AS busy FROM posts;\n\
         -- name: Authors :many\nSELECT author_id FROM posts GROUP BY author_id HAVING count(*) > 0;\n",
    )
    .await;
}

#[tokio::test]
async fn the_other_count_forms_warn() {
    for expr in ["count(*) >= 1", "0 < count(*)", "count(1) <> 0"] {
        let sql = format!("-- name: Any :one\nSELECT {expr} AS any FROM posts;\n");
        let found = warnings_of("count_for_existence", &sql).await;
        assert_eq!(found.len(), 1, "{expr}: {found:#?}");
    }
}

#[tokio::test]
async fn allow_directive_silences_a_lint() {
    let sql = "-- name: PublishAll :exec\n-- Every post goes live at launch.\n-- @allow update_without_where, select_star\nUPDATE posts SET published = true;\n";
    let output = generate_fixture("q.sql", sql.as_bytes(), SCHEMA)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(output.warnings.is_empty(), "{:#?}", output.warnings);
    // The same query without the directive does warn (the directive is what silences it).
    let found = warnings_of(
        "update_without_where",
        "-- name: PublishAll :exec\nUPDATE posts SET published = true;\n",
    )
    .await;
    assert_eq!(found.len(), 1);
}

#[tokio::test]
async fn unknown_lint_in_allow_is_an_error() {
    let sql = "-- name: Q :many\n-- @allow select_star, selct_star\nSELECT * FROM posts;\n";
    match generate_fixture("q.sql", sql.as_bytes(), SCHEMA).await {
        Ok(_) => panic!("an unknown lint name must fail generation"),
        Err(codegen::Error::Diagnostics(diagnostics)) => {
            insta::assert_snapshot!(cut_paths(&diagnostics.to_string()));
        }
        Err(other) => panic!("{other}"),
    }
}

#[tokio::test]
async fn lints_table_sets_levels() {
    let sql = "-- name: All :many\nSELECT * FROM posts ORDER BY id LIMIT 10 OFFSET :skip;\n";
    // Allowed: silent; the other lint still warns.
    let (result, _dir) =
        generate_from_disk("q.sql", sql, SCHEMA, "[lints]\nselect_star = \"allow\"\n").await;
    let output = result.unwrap_or_else(|e| panic!("{e}"));
    let names: Vec<bool> = output
        .warnings
        .iter()
        .map(|w| is_from(w, "offset_pagination"))
        .collect();
    assert_eq!(names, [true], "{:#?}", output.warnings);
    // Denied: an error, so no output at all; the note says where the level comes from.
    let (result, _dir) =
        generate_from_disk("q.sql", sql, SCHEMA, "[lints]\nselect_star = \"deny\"\n").await;
    match result {
        Ok(_) => panic!("a denied lint must fail generation"),
        Err(codegen::Error::Diagnostics(diagnostics)) => {
            insta::assert_snapshot!(cut_paths(&diagnostics.to_string()));
        }
        Err(other) => panic!("{other}"),
    }
    // `@allow` beats `deny`.
    let allowed = format!("-- name: All :many\n-- @allow select_star\n{}", &sql[18..]);
    let (result, _dir) = generate_from_disk(
        "q.sql",
        &allowed,
        SCHEMA,
        "[lints]\nselect_star = \"deny\"\n",
    )
    .await;
    assert!(result.is_ok(), "{:?}", result.err().map(|e| e.to_string()));
}

#[test]
fn bad_lints_table_is_an_error_at_its_line() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("quarry.toml");
    let text = "out = \"out\"\n\n[lints]\nselect_star = \"deny\"\nselct_star = \"warn\"\noffset_pagination = \"forbid\"\n";
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("{e}"));
    let error = match codegen::config::read_config_file(&path) {
        Ok(_) => panic!("bad [lints] accepted"),
        Err(error) => error.to_string(),
    };
    let lines: Vec<&str> = error.lines().filter(|l| l.contains("--> ")).collect();
    assert_eq!(lines.len(), 2, "{error}");
    assert!(lines[0].ends_with("quarry.toml:6:1"), "{error}");
    assert!(
        error.contains("`offset_pagination = \"forbid\"`: a lint level is"),
        "{error}"
    );
    assert!(lines[1].ends_with("quarry.toml:5:1"), "{error}");
    assert!(
        error.contains("unknown lint `selct_star` in [lints]"),
        "{error}"
    );
}

/// Runs the `codegen` binary in `dir` against the tests' server.
fn codegen(dir: &Path, args: &[&str]) -> Output {
    Command::new(codegen_bin())
        .args(args)
        .arg("--database-url")
        .arg(server().url(None))
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("run codegen: {e}"))
}

#[tokio::test]
async fn denied_lint_fails_generate_and_check() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let root = dir.path();
    let write = |name: &str, text: &str| {
        std::fs::create_dir_all(root.join(name).parent().unwrap_or(root))
            .unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(root.join(name), text).unwrap_or_else(|e| panic!("{e}"));
    };
    write("schema/schema.sql", SCHEMA);
    write(
        "queries/q.sql",
        "-- name: All :many\nSELECT * FROM posts;\n",
    );
    write("quarry.toml", "[lints]\nselect_star = \"deny\"\n");
    let denied = codegen(root, &[]);
    let stderr = String::from_utf8_lossy(&denied.stderr);
    assert_eq!(denied.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("error: `*` in the select list"), "{stderr}");
    assert!(!root.join("src/db").exists(), "nothing is written");
    // Warned: generated, and `check` passes.
    write("quarry.toml", "[lints]\nselect_star = \"warn\"\n");
    let warned = codegen(root, &[]);
    let stderr = String::from_utf8_lossy(&warned.stderr);
    assert_eq!(warned.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("warning: `*` in the select list"),
        "{stderr}"
    );
    assert_eq!(codegen(root, &["check"]).status.code(), Some(0));
    // Denied again: the output is current (levels are not in the input
    // hash) but `check` fails on the lint.
    write("quarry.toml", "[lints]\nselect_star = \"deny\"\n");
    let checked = codegen(root, &["check"]);
    let stderr = String::from_utf8_lossy(&checked.stderr);
    assert_eq!(checked.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("error: `*` in the select list"), "{stderr}");
}
