//! Row locks: whether a query takes locks that only a transaction holds.
//!
//! Owns the one decision behind the `quarry::InTransaction` bound of
//! generated functions: a statement takes row locks when any query level in
//! it (the outer query, a CTE, a subquery) has a locking clause (`FOR
//! UPDATE`, `FOR NO KEY UPDATE`, `FOR SHARE`, `FOR KEY SHARE`) or it calls a
//! transaction-level advisory lock function ([`XACT_LOCK_FUNCTIONS`]).
//! Outside a transaction those locks are released when the statement ends,
//! so the generated function accepts only a transaction.
//!
//! Pure: reads the syntax tree. When sqlparser could not parse the
//! statement, [`sql_takes_row_locks`] looks at its words instead.

use std::ops::ControlFlow;

use sqlparser::ast::{Expr, Query, Statement, Visit, Visitor};

use crate::parse::object_base_name;

/// Advisory lock functions whose lock lasts until the end of the transaction.
pub const XACT_LOCK_FUNCTIONS: &[&str] = &[
    "pg_advisory_xact_lock",
    "pg_advisory_xact_lock_shared",
    "pg_try_advisory_xact_lock",
    "pg_try_advisory_xact_lock_shared",
];

/// Whether a query takes row locks: from its syntax tree when sqlparser
/// parsed `sql`, from its words ([`sql_takes_row_locks`]) otherwise.
pub fn query_takes_row_locks(statement: Option<&Statement>, sql: &str) -> bool {
    match statement {
        Some(statement) => takes_row_locks(statement),
        None => sql_takes_row_locks(sql),
    }
}

/// Whether `statement` takes row locks (see the module doc).
pub fn takes_row_locks(statement: &Statement) -> bool {
    statement.visit(&mut LockFinder).is_break()
}

/// Breaks at the first lock.
struct LockFinder;

impl Visitor for LockFinder {
    type Break = ();

    fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<()> {
        if query.locks.is_empty() {
            ControlFlow::Continue(())
        } else {
            ControlFlow::Break(())
        }
    }

    fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<()> {
        match expr {
            Expr::Function(function)
                if object_base_name(&function.name)
                    .is_some_and(|name| XACT_LOCK_FUNCTIONS.contains(&name.as_str())) =>
            {
                ControlFlow::Break(())
            }
            _ => ControlFlow::Continue(()),
        }
    }
}

/// The fallback for SQL that sqlparser could not parse (PostgreSQL accepted
/// it): a locking clause or an advisory lock function among its words
/// (case-insensitive; string literals and comments are not told apart, so
/// it errs towards requiring a transaction).
pub fn sql_takes_row_locks(sql: &str) -> bool {
    let lower = sql.to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|word| !word.is_empty())
        .collect();
    let clause = words.windows(2).enumerate().any(|(at, pair)| {
        pair[0] == "for"
            && match pair[1] {
                "update" | "share" => true,
                "no" => words.get(at + 2..at + 4) == Some(&["key", "update"][..]),
                "key" => words.get(at + 2) == Some(&"share"),
                _ => false,
            }
    });
    clause || words.iter().any(|word| XACT_LOCK_FUNCTIONS.contains(word))
}

#[cfg(test)]
mod tests {
    use super::{query_takes_row_locks, sql_takes_row_locks};
    use crate::parse::parse_statement;

    /// What the generator decides: the syntax tree, or the fallback for
    /// what sqlparser cannot parse.
    fn locks(sql: &str) -> bool {
        query_takes_row_locks(parse_statement(sql).ok().as_ref(), sql)
    }

    const LOCKING: &[&str] = &[
        "SELECT id FROM posts WHERE id = $1 FOR UPDATE",
        "SELECT id FROM posts FOR NO KEY UPDATE SKIP LOCKED",
        "SELECT id FROM posts FOR SHARE OF posts NOWAIT",
        "SELECT id FROM posts FOR KEY SHARE",
        "WITH locked AS (SELECT id FROM posts FOR UPDATE) SELECT count(*) FROM locked",
        "SELECT * FROM (SELECT id FROM posts FOR UPDATE) AS p",
        "SELECT 1 WHERE EXISTS (SELECT 1 FROM posts WHERE id = $1 FOR SHARE)",
        "UPDATE posts SET title = $2 WHERE id IN (SELECT id FROM posts WHERE id = $1 FOR UPDATE)",
        "SELECT pg_advisory_xact_lock($1)",
        "SELECT pg_catalog.pg_try_advisory_xact_lock($1, $2)",
        "SELECT PG_ADVISORY_XACT_LOCK_SHARED(42)",
        "WITH l AS (SELECT pg_try_advisory_xact_lock_shared(1) AS got) SELECT got FROM l",
        "INSERT INTO log (id) SELECT 1 WHERE pg_try_advisory_xact_lock(7)",
    ];

    const NOT_LOCKING: &[&str] = &[
        "SELECT id FROM posts WHERE id = $1",
        "SELECT 'FOR UPDATE' AS text",
        "UPDATE posts SET title = $2 WHERE id = $1",
        "SELECT pg_advisory_lock($1)",
        "SELECT pg_try_advisory_lock($1)",
        "SELECT id FROM posts ORDER BY id FETCH FIRST 1 ROWS ONLY",
    ];

    #[test]
    fn locking_clauses_and_xact_advisory_locks_anywhere() {
        for sql in LOCKING {
            assert!(locks(sql), "{sql}");
            assert!(sql_takes_row_locks(sql), "fallback: {sql}");
        }
    }

    #[test]
    fn key_lock_strengths_sqlparser_cannot_parse_are_found_by_the_fallback() {
        // sqlparser 0.63 knows only FOR UPDATE and FOR SHARE.
        for sql in [
            "SELECT id FROM posts FOR NO KEY UPDATE SKIP LOCKED",
            "SELECT id FROM posts FOR KEY SHARE",
        ] {
            assert!(parse_statement(sql).is_err(), "{sql} parses now");
            assert!(locks(sql), "{sql}");
        }
    }

    #[test]
    fn other_statements_take_no_row_locks() {
        for sql in NOT_LOCKING {
            assert!(!locks(sql), "{sql}");
        }
        // The fallback cannot tell a string from SQL: it errs towards locks.
        assert!(sql_takes_row_locks("SELECT 'FOR UPDATE' AS text"));
        for sql in NOT_LOCKING.iter().filter(|sql| !sql.contains('\'')) {
            assert!(!sql_takes_row_locks(sql), "fallback: {sql}");
        }
        assert!(!sql_takes_row_locks("SELECT format FROM key_share"));
        assert!(!sql_takes_row_locks("SELECT 1 FOR"));
    }
}
