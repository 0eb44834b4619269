//! The bulk shape checks on lexed and parsed queries (no PostgreSQL).

use super::*;
use crate::diagnostic::SourceFile;

fn def(text: &str) -> QueryDef {
    let (queries, diagnostics) = lex::lex_file(&SourceFile::new("q.sql", text));
    assert!(diagnostics.is_empty(), "{diagnostics:#?}");
    match queries.into_iter().next() {
        Some(query) => query,
        None => panic!("no query in {text:?}"),
    }
}

fn check(text: &str) -> Result<Option<CopyTarget>, Vec<Diagnostic>> {
    let def = def(text);
    let statement = parse::parse_query(&def);
    check_bulk(&def, statement.as_ref())
}

/// The first error's position, message and the text under its caret.
fn rejected(text: &str) -> (String, String, String) {
    let errors = match check(text) {
        Ok(target) => panic!("accepted {text:?}: {target:?}"),
        Err(errors) => errors,
    };
    let Some(first) = errors.first() else {
        panic!("rejected {text:?} without a diagnostic");
    };
    let rendered = first.render();
    let caret = first
        .position()
        .and_then(|position| {
            let (line, col) = position.rsplit_once(':')?;
            let (_, line) = line.rsplit_once(':')?;
            let line: usize = line.parse().ok()?;
            let col: usize = col.parse().ok()?;
            let underline = rendered.lines().find(|l| l.contains('^'))?;
            let width = underline.matches('^').count();
            let source_line = text.lines().nth(line - 1)?;
            Some(source_line.chars().skip(col - 1).take(width).collect())
        })
        .unwrap_or_default();
    (
        first.position().unwrap_or_default(),
        first.message.clone(),
        caret,
    )
}

#[test]
fn copyfrom_reads_table_columns_and_sources() -> Result<(), Vec<Diagnostic>> {
    let target = check(
        "-- name: Copy :copyfrom\nINSERT INTO app.\"Events\" (kind, \"Body\", again) VALUES (:kind, :body?, :kind);",
    )?;
    let expected = CopyTarget {
        table: "app.\"Events\"".to_string(),
        columns: vec!["kind".into(), "\"Body\"".into(), "again".into()],
        sources: vec![0, 1, 0],
    };
    assert_eq!(target.as_ref(), Some(&expected));
    assert_eq!(
        expected.insert_sql(|column| (column == 1).then(|| "text".to_string())),
        "INSERT INTO app.\"Events\" (kind, \"Body\", again) VALUES ($1, $2::text, $3)"
    );
    assert_eq!(
        expected.copy_sql(),
        "COPY app.\"Events\" (kind, \"Body\", again) FROM STDIN (FORMAT binary)"
    );
    // Positional parameters, in any order.
    let target = check("-- name: Copy :copyfrom\nINSERT INTO t (a, b) VALUES ($2, $1)")?;
    assert_eq!(target.map(|t| t.sources), Some(vec![1, 0]));
    Ok(())
}

#[test]
fn other_kinds_have_no_copy() -> Result<(), Vec<Diagnostic>> {
    for kind in [":exec", ":many", ":batchexec", ":batchmany", ":batchone"] {
        let text = format!("-- name: Q {kind}\nINSERT INTO t (a) VALUES (:a) RETURNING a");
        assert_eq!(check(&text)?, None, "{kind}");
    }
    // Other kinds may have no parameters.
    assert_eq!(check("-- name: Q :exec\nDELETE FROM t")?, None);
    Ok(())
}

#[test]
fn copyfrom_rejects_what_copy_cannot_do() {
    let cases = [
        (
            "INSERT INTO t (a) VALUES (:a)\nON CONFLICT (a) DO NOTHING",
            "ON CONFLICT",
            "ON CONFLICT",
        ),
        (
            "INSERT INTO t (a) VALUES (:a) RETURNING a",
            "RETURNING",
            "RETURNING",
        ),
        (
            "INSERT INTO t (a, b) VALUES (:a, lower(:b))",
            "an expression in VALUES",
            "lower(:b)",
        ),
        (
            "INSERT INTO t (a, b) VALUES (:a, :b::text)",
            "a cast in VALUES",
            ":b::text",
        ),
        (
            "INSERT INTO t (a, b) VALUES (:a, DEFAULT)",
            "DEFAULT in VALUES",
            "DEFAULT",
        ),
        (
            "INSERT INTO t (a, b) VALUES (:a, 1)",
            "an expression in VALUES",
            "1",
        ),
        (
            "INSERT INTO t (a) VALUES (:a), (:b)",
            "several VALUES rows",
            "(",
        ),
        (
            "INSERT INTO t (a) SELECT :a",
            "INSERT … SELECT",
            "SELECT :a",
        ),
        (
            "UPDATE t SET a = :a",
            "a statement other than INSERT",
            "UPDATE",
        ),
        (
            "WITH x AS (SELECT 1) INSERT INTO t (a) VALUES (:a)",
            "a WITH clause",
            "WITH",
        ),
    ];
    for (sql, what, under_caret) in cases {
        let text = format!("-- name: Copy :copyfrom\n{sql}");
        let (_, message, caret) = rejected(&text);
        assert_eq!(
            message,
            format!("`:copyfrom` query `Copy` cannot be a binary COPY: {what}"),
            "{sql}"
        );
        assert_eq!(caret, under_caret, "{sql}");
    }
}

#[test]
fn copyfrom_needs_a_column_list_and_one_value_per_column() {
    let (position, message, caret) =
        rejected("-- name: Copy :copyfrom\nINSERT INTO events VALUES (:a, :b)");
    assert_eq!(position, "q.sql:2:13");
    assert_eq!(message, "`:copyfrom` query `Copy` has no column list");
    assert_eq!(caret, "events");
    let (_, message, _) = rejected("-- name: Copy :copyfrom\nINSERT INTO t (a, b) VALUES (:a)");
    assert_eq!(
        message,
        "`:copyfrom` query `Copy` has 2 columns but 1 values"
    );
}

#[test]
fn bulk_kinds_need_parameters() {
    for (kind, instead) in [
        (":copyfrom", "`:exec`"),
        (":batchexec", "`:exec`"),
        (":batchmany", "`:many`"),
        (":batchone", "`:one`"),
    ] {
        let text = format!("-- name: Q {kind}\nINSERT INTO t (a) VALUES (1)");
        let (position, message, caret) = rejected(&text);
        assert_eq!(position, "q.sql:1:12");
        assert_eq!(
            message,
            format!("query `Q` is declared `{kind}` but takes no parameters")
        );
        assert_eq!(caret, kind);
        let errors = check(&text).err().unwrap_or_default();
        let rendered = errors.first().map(Diagnostic::render).unwrap_or_default();
        assert!(rendered.contains(instead), "{rendered}");
    }
}

#[test]
fn copyfrom_syntax_sqlparser_cannot_read_is_an_error() {
    let (_, message, _) = rejected("-- name: Copy :copyfrom\nINSERT INTO t (a) VALUES (:a) ,,");
    assert!(
        message.starts_with("cannot read the INSERT of `:copyfrom` query `Copy`"),
        "{message}"
    );
}
