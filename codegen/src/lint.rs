//! Lint: checks of a query against its own declaration.
//!
//! Owns the rules that relate what a query *says* (its header kind) to what
//! its statement *does* (the parsed statement and what PostgreSQL described):
//! a row-returning kind on a statement that returns no rows is an error, an
//! `:exec` that throws away the rows of a plain `SELECT` is a warning. Reads
//! only already-computed facts; no IO.

use sqlparser::ast::Statement;

use crate::describe::Described;
use crate::diagnostic::Diagnostic;
use crate::lex::{QueryDef, QueryKind};
use crate::parse::{classify, StatementClass};

/// Checks one query's kind against its statement.
pub fn lint_query(
    def: &QueryDef,
    statement: Option<&Statement>,
    described: &Described,
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let class = statement.map(classify);
    // The kind that returns rows affected instead: `:batchexec` for a batch.
    let exec = match def.kind {
        QueryKind::BatchExec | QueryKind::BatchMany | QueryKind::BatchOne => ":batchexec",
        QueryKind::One
        | QueryKind::Opt
        | QueryKind::Many
        | QueryKind::Exec
        | QueryKind::ExecResult
        | QueryKind::CopyFrom => ":exec",
    };
    let row_kinds = if exec == ":exec" {
        "`:one`, `:opt` or `:many`"
    } else {
        "`:batchone` or `:batchmany`"
    };
    if def.kind == QueryKind::ExecResult {
        out.extend(crate::exec_result::check(def, statement));
    }
    if def.kind.returns_rows() && described.columns.is_empty() {
        let what = match class {
            Some(StatementClass::Modify { verb, .. }) => {
                format!("{verb} without RETURNING returns no rows")
            }
            _ => "the statement returns no rows".to_string(),
        };
        let help = match class {
            Some(StatementClass::Modify { .. }) => format!(
                "add a `RETURNING …` clause, or use `{exec}` to get the number of rows affected"
            ),
            _ => format!("use `{exec}` for statements that return no rows"),
        };
        out.push(
            Diagnostic::error_at(
                format!(
                    "query `{}` is declared `{}` but {what}",
                    def.name,
                    def.kind.as_str()
                ),
                &def.file,
                def.kind_span.clone(),
            )
            .with_label(format!("`{}` expects rows", def.kind.as_str()))
            .with_help(help),
        );
    }
    let discards = matches!(
        def.kind,
        QueryKind::Exec | QueryKind::ExecResult | QueryKind::BatchExec
    );
    // `:execresult` on a SELECT is for its `SELECT n` tag: the row count.
    let counts = def.kind == QueryKind::ExecResult;
    if discards && !counts && !described.columns.is_empty() && class == Some(StatementClass::Query)
    {
        out.push(
            Diagnostic::warning(
                format!(
                    "query `{}` is a SELECT declared `{exec}`; its rows are discarded",
                    def.name
                ),
                Some(crate::diagnostic::Location::new(
                    &def.file,
                    def.kind_span.clone(),
                )),
            )
            .with_help(format!("use {row_kinds} to get the rows")),
        );
    }
    if discards && !described.columns.is_empty() {
        if let Some(StatementClass::Modify { verb, .. }) = class {
            out.push(
                Diagnostic::warning(
                    format!(
                        "query `{}` is declared `{}`, so the rows of its {verb} … RETURNING are discarded",
                        def.name,
                        def.kind.as_str()
                    ),
                    Some(crate::diagnostic::Location::new(
                        &def.file,
                        def.kind_span.clone(),
                    )),
                )
                .with_help(format!("use {row_kinds} to get the rows, or drop the RETURNING clause")),
            );
        }
    }
    out
}
