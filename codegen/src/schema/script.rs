//! Schema files as `psql` scripts: what of a file is SQL for the scratch
//! database, and what is for `psql` or for a real deployment only.
//!
//! Owns reading a schema file the way `psql` would run it, so that the output
//! of `pg_dump --schema-only` (PostgreSQL 12–17) loads as it is:
//!
//! * psql meta-commands (a line starting with `\`: `\connect`, `\restrict`,
//!   `\unrestrict`, `\set`, …) are not SQL: blanked ([`psql_sql`]);
//! * `COPY … FROM stdin;` and the data rows after it, through the `\.`
//!   line, are blanked too (and so is `\copy … from stdin` with its data):
//!   the schema's data is not needed to check queries;
//! * ownership and privileges (`ALTER … OWNER TO`, `GRANT`, `REVOKE`,
//!   `ALTER DEFAULT PRIVILEGES`) name roles the scratch server does not
//!   have and change nothing a query's description depends on: skipped, as
//!   sqlc ignores them; so are `COMMENT ON EXTENSION` (only its owner may)
//!   and `SET client_encoding`/`SET NAMES` (the file was read as UTF-8, and
//!   the connection stays UTF-8);
//! * `CREATE SCHEMA public` runs as `CREATE SCHEMA IF NOT EXISTS public`;
//! * any other `SET` is applied, but skipped when the server does not know
//!   the setting (or role) it names: a PostgreSQL 17 dump's
//!   `SET transaction_timeout = 0` on PostgreSQL 15;
//! * in sqlc's dialect, a statement under a `-- name:` or `/* name: */`
//!   header is a query of a file that is both schema and queries: skipped.
//!
//! Byte offsets never move: blanked text becomes spaces (newlines kept), so
//! a diagnostic points into the file as it is.

use std::ops::Range;

use crate::config::Dialect;
use crate::lex::{tokens, TokenKind};

/// What applying the schema does with one statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// Runs it as written.
    Run,
    /// Runs it, or skips it when PostgreSQL does not know the setting or
    /// role it names (SQLSTATE `42704`, undefined object).
    RunUnlessUnknown,
    /// Runs this SQL instead.
    Instead(&'static str),
    /// Skips it.
    Skip,
}

/// `text` with psql's meta-command lines and `COPY … FROM stdin` blocks
/// (statement, data and the closing `\.`) replaced by spaces, newlines
/// kept, so that every byte offset stays where it was.
pub(crate) fn psql_sql(text: &str) -> String {
    let mut blanks: Vec<Range<usize>> = Vec::new();
    let mut at = 0;
    while let Some(blank) = next_blank(text, at) {
        at = blank.end;
        blanks.push(blank);
    }
    if blanks.is_empty() {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    for blank in blanks {
        out.push_str(&text[copied..blank.start]);
        for c in text[blank.clone()].chars() {
            if c == '\n' {
                out.push('\n');
            } else {
                out.extend(std::iter::repeat_n(' ', c.len_utf8()));
            }
        }
        copied = blank.end;
    }
    out.push_str(&text[copied..]);
    out
}

/// The next range from `from` on to blank: a meta-command line (with its
/// data when it is `\copy … from stdin`), or a `COPY … FROM stdin`
/// statement with its data.
fn next_blank(text: &str, from: usize) -> Option<Range<usize>> {
    let mut statement: Option<usize> = None;
    let mut words: Vec<String> = Vec::new();
    let mut depth = 0usize;
    for token in tokens(&text[from..]) {
        let span = from + token.span.start..from + token.span.end;
        let piece = &text[span.clone()];
        match token.kind {
            TokenKind::LineComment | TokenKind::BlockComment => continue,
            TokenKind::Punct if piece == "\\" && starts_line(text, span.start) => {
                let end = line_end(text, span.start);
                let line = text[span.start..end].to_ascii_lowercase();
                let copy_data = line.starts_with("\\copy")
                    && line
                        .split_whitespace()
                        .any(|w| w == "stdin" || w == "pstdin");
                let end = if copy_data { data_end(text, end) } else { end };
                return Some(span.start..end);
            }
            TokenKind::Punct if piece == ";" && depth == 0 => {
                if copies_from_stdin(&words) {
                    let start = statement.unwrap_or(span.start);
                    return Some(start..data_end(text, span.end));
                }
                statement = None;
                words.clear();
                continue;
            }
            TokenKind::Punct if piece == "(" => depth += 1,
            TokenKind::Punct if piece == ")" => depth = depth.saturating_sub(1),
            TokenKind::Word if depth == 0 && words.len() < 32 => {
                words.push(piece.to_ascii_lowercase());
            }
            _ => {}
        }
        statement.get_or_insert(span.start);
    }
    None
}

/// `COPY … FROM stdin` (the words outside brackets).
fn copies_from_stdin(words: &[String]) -> bool {
    words.first().is_some_and(|w| w == "copy")
        && words
            .windows(2)
            .any(|pair| pair[0] == "from" && pair[1] == "stdin")
}

/// Whether only spaces and tabs precede `offset` on its line.
fn starts_line(text: &str, offset: usize) -> bool {
    text[..offset]
        .bytes()
        .rev()
        .take_while(|&b| b != b'\n')
        .all(|b| b == b' ' || b == b'\t')
}

/// The offset of the `\n` ending the line of `offset` (or the end of text).
fn line_end(text: &str, offset: usize) -> usize {
    text[offset..].find('\n').map_or(text.len(), |i| offset + i)
}

/// The end of COPY data starting on the line after `offset`: past the line
/// that is `\.` alone, or the end of the text.
fn data_end(text: &str, offset: usize) -> usize {
    let mut line = line_end(text, offset);
    while line < text.len() {
        let start = line + 1;
        let end = line_end(text, start);
        if text[start..end].trim_end_matches('\r') == "\\." {
            return end;
        }
        line = end;
    }
    text.len()
}

/// What to do with `statement`, whose preceding comments (since the last
/// statement) are `before`.
pub(crate) fn step(statement: &str, before: &str, dialect: Dialect) -> Step {
    if dialect == Dialect::Sqlc && has_query_header(before) {
        return Step::Skip;
    }
    // Significant tokens: words upper-cased, quoted identifiers as written.
    let mut significant: Vec<(TokenKind, String)> = tokens(statement)
        .filter(|t| !matches!(t.kind, TokenKind::LineComment | TokenKind::BlockComment))
        .map(|t| {
            let text = &statement[t.span];
            let text = match t.kind {
                TokenKind::Word => text.to_ascii_uppercase(),
                _ => text.to_string(),
            };
            (t.kind, text)
        })
        .collect();
    if significant.last().is_some_and(|(_, text)| text == ";") {
        significant.pop();
    }
    let texts: Vec<&str> = significant.iter().map(|(_, text)| text.as_str()).collect();
    match texts.as_slice() {
        ["GRANT" | "REVOKE", ..] | ["ALTER", "DEFAULT", "PRIVILEGES", ..] => Step::Skip,
        ["COMMENT", "ON", "EXTENSION", ..] => Step::Skip,
        ["SET", "SESSION" | "LOCAL", "CLIENT_ENCODING" | "NAMES", ..]
        | ["SET", "CLIENT_ENCODING" | "NAMES", ..] => Step::Skip,
        ["SET", ..] => Step::RunUnlessUnknown,
        ["CREATE", "SCHEMA", "PUBLIC"] | ["CREATE", "SCHEMA", "PUBLIC", "AUTHORIZATION", _] => {
            Step::Instead("CREATE SCHEMA IF NOT EXISTS public")
        }
        ["ALTER", ..] if changes_owner(&significant) => Step::Skip,
        _ => Step::Run,
    }
}

/// `ALTER … OWNER TO role`: the statement ends with `OWNER TO` and a role,
/// and `OWNER` is not a column or constraint being renamed
/// (`RENAME [COLUMN] owner TO x`).
fn changes_owner(significant: &[(TokenKind, String)]) -> bool {
    let n = significant.len();
    if n < 4 {
        return false;
    }
    let word = |i: usize, w: &str| significant[i].0 == TokenKind::Word && significant[i].1 == w;
    let role = matches!(
        significant[n - 1].0,
        TokenKind::Word | TokenKind::QuotedIdent
    );
    role && word(n - 3, "OWNER")
        && word(n - 2, "TO")
        && !["RENAME", "COLUMN", "CONSTRAINT", "ATTRIBUTE"]
            .iter()
            .any(|w| word(n - 4, w))
}

/// Whether the comments `before` a statement hold an sqlc query header
/// (`-- name: X :kind` or `/* name: X :kind */`).
fn has_query_header(before: &str) -> bool {
    tokens(before).any(|token| {
        let text = &before[token.span];
        let inner = match token.kind {
            TokenKind::LineComment => text.strip_prefix("--"),
            TokenKind::BlockComment => text.strip_prefix("/*"),
            _ => None,
        };
        inner.is_some_and(|inner| inner.trim_start().starts_with("name:"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The statements `apply_schema` would send for `text`, each with its step.
    fn steps(text: &str, dialect: Dialect) -> Vec<(String, Step)> {
        let sql = psql_sql(text);
        assert_eq!(sql.len(), text.len());
        let mut previous = 0;
        crate::lex::split_statements(&sql)
            .into_iter()
            .map(|span| {
                let before = &sql[previous..span.start];
                previous = span.end;
                let statement = &sql[span];
                (statement.to_string(), step(statement, before, dialect))
            })
            .collect()
    }

    #[test]
    fn meta_commands_and_copy_data_are_blanked() {
        let text = "\\restrict AbC123\n\\connect app\nCREATE TABLE t (a text);\n\
                    COPY public.t (a) FROM stdin;\nx; '\n$$ y\n\\.\n  \\set ON_ERROR_STOP on\n\
                    SELECT 'a\n\\not a command';\n\\unrestrict AbC123\n";
        let sql = psql_sql(text);
        assert_eq!(sql.len(), text.len());
        assert_eq!(sql.lines().count(), text.lines().count());
        let statements: Vec<String> = steps(text, Dialect::Quarry)
            .into_iter()
            .map(|(statement, _)| statement)
            .collect();
        assert_eq!(
            statements,
            ["CREATE TABLE t (a text);", "SELECT 'a\n\\not a command';"]
        );
    }

    #[test]
    fn copy_without_end_marker_runs_to_the_end_and_psql_copy_is_blanked() {
        let text = "\\copy t from stdin\n1\n\\.\nCREATE TABLE u ();\nCOPY t FROM stdin;\n1\n2\n";
        let statements: Vec<String> = steps(text, Dialect::Quarry)
            .into_iter()
            .map(|(statement, _)| statement)
            .collect();
        assert_eq!(statements, ["CREATE TABLE u ();"]);
        // COPY from a file or to stdout is SQL like any other.
        let text = "COPY t TO stdout;\nCOPY t FROM '/tmp/x';";
        assert_eq!(steps(text, Dialect::Quarry).len(), 2);
    }

    #[test]
    fn ownership_privileges_and_settings() {
        let cases = [
            ("ALTER TABLE public.t OWNER TO app;", Step::Skip),
            (
                "ALTER FUNCTION public.f(integer) OWNER TO \"App\";",
                Step::Skip,
            ),
            ("ALTER TABLE owner OWNER TO CURRENT_USER;", Step::Skip),
            ("ALTER TABLE t RENAME owner TO x;", Step::Run),
            ("ALTER TABLE t RENAME COLUMN owner TO x;", Step::Run),
            ("ALTER TABLE t ADD COLUMN owner_id int;", Step::Run),
            ("GRANT SELECT ON TABLE public.t TO app;", Step::Skip),
            ("REVOKE ALL ON SCHEMA public FROM PUBLIC;", Step::Skip),
            (
                "ALTER DEFAULT PRIVILEGES FOR ROLE a GRANT SELECT ON TABLES TO b;",
                Step::Skip,
            ),
            ("COMMENT ON EXTENSION plpgsql IS 'PL/pgSQL';", Step::Skip),
            ("COMMENT ON TABLE t IS 'x';", Step::Run),
            ("SET client_encoding = 'UTF8';", Step::Skip),
            ("SET NAMES 'LATIN1';", Step::Skip),
            ("SET transaction_timeout = 0;", Step::RunUnlessUnknown),
            ("SET search_path = app, public;", Step::RunUnlessUnknown),
            (
                "CREATE SCHEMA public;",
                Step::Instead("CREATE SCHEMA IF NOT EXISTS public"),
            ),
            ("CREATE SCHEMA app;", Step::Run),
            (
                "SELECT pg_catalog.set_config('search_path', '', false);",
                Step::Run,
            ),
        ];
        for (statement, expected) in cases {
            assert_eq!(
                step(statement, "", Dialect::Quarry),
                expected,
                "{statement}"
            );
        }
    }

    #[test]
    fn sqlc_query_headers_mark_queries_in_sqlc_dialect_only() {
        let text = "CREATE TABLE a (id int);\n-- name: GetA :one\nSELECT * FROM a WHERE id = $1;\n\
                    /* name: ListA :many */ SELECT * FROM a;\n-- a comment\nCREATE INDEX ON a (id);";
        let sqlc: Vec<Step> = steps(text, Dialect::Sqlc)
            .into_iter()
            .map(|(_, s)| s)
            .collect();
        assert_eq!(sqlc, [Step::Run, Step::Skip, Step::Skip, Step::Run]);
        let quarry: Vec<Step> = steps(text, Dialect::Quarry)
            .into_iter()
            .map(|(_, s)| s)
            .collect();
        assert_eq!(quarry, [Step::Run; 4]);
    }
}
