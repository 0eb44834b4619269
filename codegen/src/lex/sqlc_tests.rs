//! Tests of what the lexer reads the sqlc way: `/* name: … */` headers,
//! `:execresult`/`:execrows`/`:execlastid`, `sqlc.slice`, and the sqlc
//! dialect's statement splitting.

use super::*;

fn lex_as(text: &str, dialect: Dialect) -> (Vec<QueryDef>, Vec<Diagnostic>) {
    lex_file_as(&SourceFile::new("q.sql", text), dialect)
}

fn queries(text: &str, dialect: Dialect) -> Vec<QueryDef> {
    let (queries, diagnostics) = lex_as(text, dialect);
    assert!(diagnostics.is_empty(), "{diagnostics:#?}");
    queries
}

fn one(text: &str) -> QueryDef {
    let mut all = queries(text, Dialect::Quarry);
    assert_eq!(all.len(), 1);
    all.remove(0)
}

/// `file:line:col: message` of every diagnostic.
fn errors(text: &str, dialect: Dialect) -> Vec<String> {
    lex_as(text, dialect)
        .1
        .iter()
        .map(|d| format!("{}: {}", d.position().unwrap_or_default(), d.message))
        .collect()
}

#[test]
fn block_comment_headers() {
    let text = "/* name: GetAuthor :one */\nSELECT 1 AS a;\n\n  /* name: ListAuthors :many */\n-- All of them.\n-- @row Author\nSELECT 2 AS a;\n/*name:Count :execresult*/ DELETE FROM t;\n";
    let all = queries(text, Dialect::Quarry);
    let got: Vec<(&str, QueryKind, &str)> = all
        .iter()
        .map(|q| (q.name.as_str(), q.kind, q.sql.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("GetAuthor", QueryKind::One, "SELECT 1 AS a"),
            ("ListAuthors", QueryKind::Many, "SELECT 2 AS a"),
            ("Count", QueryKind::ExecResult, "DELETE FROM t"),
        ]
    );
    assert_eq!(all[1].docs, ["All of them."]);
    assert_eq!(
        all[1].row_name.as_ref().map(|r| r.0.as_str()),
        Some("Author")
    );
    assert_eq!(&text[all[0].name_span.clone()], "GetAuthor");
    assert_eq!(&text[all[2].kind_span.clone()], ":execresult");
}

#[test]
fn block_headers_only_where_line_headers_would_be() {
    // Not at the start of a line, inside a string, inside another comment:
    // part of the query.
    let text = "-- name: A :one\nSELECT 1 AS a /* name: X :one */, '\n/* name: Y :one */' AS b, /*\n/* name: Z :one */ */ 3 AS c;\n";
    let all = queries(text, Dialect::Quarry);
    assert_eq!(all.len(), 1);
    assert!(all[0].sql.contains("/* name: X :one */"));
    assert!(all[0].sql.contains("\n/* name: Y :one */'"));
    assert!(all[0].sql.contains("\n/* name: Z :one */ */"));
    // A comment that merely mentions a name is no header.
    assert_eq!(
        one("/* helper queries */\n-- name: B :one\nSELECT 1 AS b").name,
        "B"
    );
}

#[test]
fn malformed_block_headers_point_at_the_file() {
    let quarry = Dialect::Quarry;
    assert_eq!(
        errors("/* name: Q :first */\nSELECT 1", quarry),
        ["q.sql:1:12: unknown query kind `:first`"]
    );
    assert_eq!(
        errors("SELECT 0;\n\n  /* name: */\nSELECT 1", quarry)[1],
        "q.sql:3:3: query header without a name"
    );
    assert_eq!(
        errors("/* name: Q :one extra */\nSELECT 1", quarry),
        ["q.sql:1:17: unexpected `extra` in query header"]
    );
    assert_eq!(
        errors("/* name: Q :one\nSELECT 1", quarry),
        ["q.sql:1:1: unterminated query header"]
    );
    assert_eq!(
        errors("/* name: Q :one */", quarry),
        ["q.sql:1:1: query `Q` has no SQL"]
    );
    // The help shows the form the header was written in, and every kind.
    let (_, diagnostics) = lex_as("/* name: Q :first */\nSELECT 1", quarry);
    let help = format!("{:?}", diagnostics[0]);
    assert!(help.contains("`/* name: ListPosts :many */`"), "{help}");
    assert!(help.contains(":execrows, :execresult, :copyfrom"), "{help}");
}

#[test]
fn exec_kinds() {
    let q = one("-- name: Q :execresult\nUPDATE t SET a = 1");
    assert_eq!(
        (q.kind, q.kind.as_str()),
        (QueryKind::ExecResult, ":execresult")
    );
    assert!(!q.kind.returns_rows() && !q.kind.is_bulk());
    assert_eq!(
        one("-- name: Q :execrows\nDELETE FROM t").kind,
        QueryKind::Exec
    );
    let text = "-- name: NewId :execlastid\nINSERT INTO t VALUES (1)";
    assert_eq!(
        errors(text, Dialect::Quarry),
        ["q.sql:1:16: `:execlastid` is MySQL-only (LAST_INSERT_ID)"]
    );
    let (_, diagnostics) = lex_as(text, Dialect::Sqlc);
    let rendered = format!("{:?}", diagnostics[0]);
    assert!(
        rendered.contains("use `INSERT … RETURNING id` with `:one`"),
        "{rendered}"
    );
}

#[test]
fn sqlc_slice_becomes_any_and_all() {
    let text = "-- name: Q :many\nSELECT a FROM t WHERE a IN (sqlc.slice(ids)) AND b NOT IN ( sqlc.slice('skip') ) AND c in(sqlc.slice(ids)) AND zz = 1";
    let q = one(text);
    assert_eq!(
        q.sql,
        "SELECT a FROM t WHERE a = ANY($1) AND b <> ALL($2) AND c = ANY($1) AND zz = 1"
    );
    let names: Vec<(Option<&str>, bool)> = q
        .params
        .iter()
        .map(|p| (p.name.as_deref(), p.nullable))
        .collect();
    assert_eq!(names, [(Some("ids"), false), (Some("skip"), false)]);
    assert_eq!(&text[q.params[1].spans[0].clone()], "sqlc.slice('skip')");
    // Positions after and inside the rewrite map back to the file.
    let zz = q.sql.find("zz").unwrap_or(0);
    assert_eq!(&text[q.offsets.to_file(zz)..][..2], "zz");
    let second = q.sql.find("$2").unwrap_or(0);
    assert!(text[q.offsets.to_file(second)..].starts_with("sqlc.slice('skip')"));
    let all = q.sql.find("<> ALL").unwrap_or(0);
    assert!(text[q.offsets.to_file(all)..].starts_with("NOT IN"));
    let sites: Vec<&str> = q
        .param_sites
        .iter()
        .map(|(_, r)| &q.sql[r.clone()])
        .collect();
    assert_eq!(sites, ["$1", "$2", "$1"]);
}

#[test]
fn sqlc_slice_elsewhere_is_an_error_at_it() {
    let quarry = Dialect::Quarry;
    assert_eq!(
        errors(
            "-- name: Q :many\nSELECT a FROM t WHERE a = ANY(sqlc.slice(ids))",
            quarry
        ),
        ["q.sql:2:31: `sqlc.slice` outside of `IN (…)`"]
    );
    assert_eq!(
        errors(
            "-- name: Q :many\nSELECT a FROM t WHERE a IN (sqlc.slice(ids), 3)",
            quarry
        ),
        ["q.sql:2:29: `sqlc.slice` outside of `IN (…)`"]
    );
    assert_eq!(
        errors("-- name: Q :many\nSELECT sqlc.slice(ids)", quarry),
        ["q.sql:2:8: `sqlc.slice` outside of `IN (…)`"]
    );
    assert_eq!(
        errors(
            "-- name: Q :many\nSELECT 1 WHERE 1 IN (sqlc.slice())",
            quarry
        ),
        ["q.sql:2:22: malformed `sqlc.slice`"]
    );
    // In strings and comments it is text.
    assert!(
        one("-- name: Q :one\nSELECT 'sqlc.slice(x)' AS a -- sqlc.slice(y)\n")
            .params
            .is_empty()
    );
}

#[test]
fn sqlc_dialect_keeps_one_statement_per_header() {
    let text = "CREATE TABLE t (a int);\nCREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql;\n\n-- name: A :one\nSELECT ';' AS a; INSERT INTO t VALUES (1);\n\nSELECT 2;\n/* name: B :exec */\nDELETE FROM t\n";
    let all = queries(text, Dialect::Sqlc);
    let got: Vec<(&str, &str, &str)> = all
        .iter()
        .map(|q| (q.name.as_str(), q.sql.as_str(), &text[q.sql_span.clone()]))
        .collect();
    assert_eq!(
        got,
        [
            ("A", "SELECT ';' AS a", "SELECT ';' AS a"),
            ("B", "DELETE FROM t", "DELETE FROM t")
        ]
    );
    // Quarry's dialect: the same file is an error at each headerless statement.
    assert_eq!(
        errors(text, Dialect::Quarry),
        [
            "q.sql:1:1: SQL outside of a query",
            "q.sql:5:18: more than one statement in a query"
        ]
    );
}

#[test]
fn sqlc_dialect_file_without_headers_is_empty() {
    let schema = "CREATE TABLE t (a int);\nINSERT INTO t VALUES (1);\n";
    assert!(queries(schema, Dialect::Sqlc).is_empty());
    assert!(queries("", Dialect::Sqlc).is_empty());
    assert_eq!(
        errors(schema, Dialect::Quarry),
        ["q.sql:1:1: SQL outside of a query"]
    );
    // A header without its statement is still an error.
    assert_eq!(
        errors("-- name: A :one\n-- name: B :one\nSELECT 1", Dialect::Sqlc),
        ["q.sql:1:1: query `A` has no SQL"]
    );
}
