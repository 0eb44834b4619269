//! Bulk kinds: what `:copyfrom`, `:batchexec`, `:batchmany` and `:batchone`
//! require of their statement, and the `COPY` a `:copyfrom` query becomes.
//!
//! Owns the shape checks that need no database: every bulk kind takes at
//! least one parameter (its function takes `<Name>Params` values), and
//! `:copyfrom` is only a plain `INSERT INTO t (c1, …, cn) VALUES (:a, :b, …)`
//! — one row of bare parameters, an explicit column list — read with
//! sqlparser into a [`CopyTarget`]: the table and columns as written and the
//! parameter that feeds each column. Anything else (ON CONFLICT, RETURNING,
//! expressions, several rows, `INSERT … SELECT`) is a diagnostic at the
//! offending clause suggesting the `unnest` form. Also checks, once
//! PostgreSQL described the canonical `INSERT` ([`check_copy_insert`]), that
//! a parameter feeding several columns has one type for all of them and
//! that no column is an array of a domain. No IO.

use std::ops::Range;

use postgres_types::{Kind, Type};
use sqlparser::ast::{Expr, Insert, SetExpr, Spanned, Statement, TableObject, Value};

use crate::describe::Described;
use crate::diagnostic::Diagnostic;
use crate::lex::{self, QueryDef, QueryKind, TokenKind};
use crate::parse::{self, SyntaxError};

/// What a `:copyfrom` query writes: `COPY <table> (<columns>)`, each column
/// fed by one of the query's parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyTarget {
    /// The table as written (`events`, `app."Events"`).
    pub table: String,
    /// The columns as written, in the statement's order.
    pub columns: Vec<String>,
    /// For each column, the index (0-based, `$n - 1`) of the parameter
    /// written in its place in `VALUES`; a parameter may feed several.
    pub sources: Vec<usize>,
}

impl CopyTarget {
    /// The canonical `INSERT INTO <table> (<columns>) VALUES ($1, …, $n)`,
    /// one placeholder per column; `casts` gives a column's placeholder a
    /// `::type` (the base type of a domain).
    pub fn insert_sql(&self, casts: impl Fn(usize) -> Option<String>) -> String {
        let values: Vec<String> = (0..self.columns.len())
            .map(|column| match casts(column) {
                Some(ty) => format!("${}::{ty}", column + 1),
                None => format!("${}", column + 1),
            })
            .collect();
        format!(
            "INSERT INTO {} ({}) VALUES ({})",
            self.table,
            self.columns.join(", "),
            values.join(", ")
        )
    }

    /// `COPY <table> (<columns>) FROM STDIN (FORMAT binary)`.
    pub fn copy_sql(&self) -> String {
        format!(
            "COPY {} ({}) FROM STDIN (FORMAT binary)",
            self.table,
            self.columns.join(", ")
        )
    }
}

/// The help every rejected `:copyfrom` shape gets.
const UNNEST_HELP: &str = "for ON CONFLICT, RETURNING or computed values, insert all rows in one statement as `:exec` (`:many` with RETURNING), one array parameter per column: `INSERT INTO t (a, b) SELECT * FROM unnest(:a::int8[], :b::text[]) ON CONFLICT … RETURNING …`";

/// Checks a query of a bulk kind against its statement: the `COPY` of a
/// `:copyfrom` query, `None` for every other query; every problem as a
/// diagnostic at the clause it is about.
pub fn check_bulk(
    def: &QueryDef,
    statement: Result<&Statement, &SyntaxError>,
) -> Result<Option<CopyTarget>, Vec<Diagnostic>> {
    if !def.kind.is_bulk() {
        return Ok(None);
    }
    if def.params.is_empty() {
        return Err(vec![without_parameters(def)]);
    }
    if def.kind != QueryKind::CopyFrom {
        return Ok(None);
    }
    let statement = statement.map_err(|error| {
        let at = def.file_span(error.offset..error.offset);
        vec![Diagnostic::error_at(
            format!(
                "cannot read the INSERT of `:copyfrom` query `{}`: {}",
                def.name, error.message
            ),
            &def.file,
            at,
        )
        .with_note("a `:copyfrom` query is read to find its table and columns")
        .with_help(UNNEST_HELP)]
    })?;
    copy_target(def, statement).map(Some)
}

/// A bulk query without parameters: nothing to run it for, many times.
fn without_parameters(def: &QueryDef) -> Diagnostic {
    let (what, instead) = match def.kind {
        QueryKind::CopyFrom => (
            "writes one row per `<Name>Params` value, its columns from parameters",
            "write `INSERT INTO t (a, b) VALUES (:a, :b)`, or use `:exec` to run the statement once",
        ),
        QueryKind::BatchMany => (
            "runs its statement once per `<Name>Params` value",
            "use `:many` to run the statement once",
        ),
        QueryKind::BatchOne => (
            "runs its statement once per `<Name>Params` value",
            "use `:one` to run the statement once",
        ),
        _ => (
            "runs its statement once per `<Name>Params` value",
            "use `:exec` to run the statement once",
        ),
    };
    Diagnostic::error_at(
        format!(
            "query `{}` is declared `{}` but takes no parameters",
            def.name,
            def.kind.as_str()
        ),
        &def.file,
        def.kind_span.clone(),
    )
    .with_label(format!(
        "`{}` needs at least one parameter",
        def.kind.as_str()
    ))
    .with_note(format!("a `{}` query {what}", def.kind.as_str()))
    .with_help(instead)
}

/// The `COPY` of a `:copyfrom` statement, or why it has none.
fn copy_target(def: &QueryDef, statement: &Statement) -> Result<CopyTarget, Vec<Diagnostic>> {
    let reject =
        |what: &str, at: Option<Range<usize>>, label: &str| vec![shape_error(def, what, at, label)];
    let insert = match statement {
        Statement::Insert(insert) => insert,
        Statement::Query(query) if matches!(query.body.as_ref(), SetExpr::Insert(_)) => {
            return Err(reject(
                "a WITH clause",
                keyword(def, &["WITH"]),
                "COPY has no WITH",
            ))
        }
        _ => {
            let first = lex::tokens(&def.sql)
                .find(|t| !matches!(t.kind, TokenKind::LineComment | TokenKind::BlockComment))
                .map(|t| t.span);
            return Err(reject(
                "a statement other than INSERT",
                first,
                "not an INSERT",
            ));
        }
    };
    let TableObject::TableName(table) = &insert.table else {
        return Err(reject("a table function", None, "not a table"));
    };
    if insert.on.is_some() {
        let at = keyword(def, &["ON", "CONFLICT"]);
        return Err(reject("ON CONFLICT", at, "COPY cannot resolve conflicts"));
    }
    if insert.returning.is_some() {
        let at = keyword(def, &["RETURNING"]);
        return Err(reject("RETURNING", at, "COPY returns no rows"));
    }
    if insert.columns.is_empty() {
        let at = parse::span_range(&def.sql, table.span());
        return Err(vec![Diagnostic::error_at(
            format!("`:copyfrom` query `{}` has no column list", def.name),
            &def.file,
            at.map_or_else(|| def.sql_span.clone(), |at| def.file_span(at)),
        )
        .with_label("expected `(column, …)` after the table")
        .with_help("name the columns: `INSERT INTO t (a, b) VALUES (:a, :b)`")]);
    }
    let sources = value_sources(def, insert)?;
    Ok(CopyTarget {
        table: table.to_string(),
        columns: insert.columns.iter().map(ToString::to_string).collect(),
        sources,
    })
}

/// The parameter of each `VALUES` item: the one row of a plain `VALUES`,
/// every item a bare parameter, as many as there are columns.
fn value_sources(def: &QueryDef, insert: &Insert) -> Result<Vec<usize>, Vec<Diagnostic>> {
    let span_of = |node: &dyn Spanned| parse::span_range(&def.sql, node.span());
    let source = match &insert.source {
        None => {
            let at = keyword(def, &["DEFAULT", "VALUES"]);
            return Err(vec![shape_error(
                def,
                "DEFAULT VALUES",
                at,
                "no values to copy",
            )]);
        }
        Some(source) => source,
    };
    let SetExpr::Values(values) = source.body.as_ref() else {
        let at = span_of(source.body.as_ref()).or_else(|| keyword(def, &["SELECT"]));
        return Err(vec![shape_error(
            def,
            "INSERT … SELECT",
            at,
            "not a VALUES row",
        )]);
    };
    if source.with.is_some() || source.order_by.is_some() || source.limit_clause.is_some() {
        let at = span_of(source.as_ref());
        return Err(vec![shape_error(
            def,
            "a VALUES query with clauses",
            at,
            "not a plain VALUES row",
        )]);
    }
    if let Some(second) = values.rows.get(1) {
        let at = parse::span_range(&def.sql, second.opening_token.0.span);
        return Err(vec![shape_error(
            def,
            "several VALUES rows",
            at,
            "a second row",
        )]);
    }
    let Some(row) = values.rows.first() else {
        return Err(vec![shape_error(def, "an empty VALUES", None, "no row")]);
    };
    let mut errors = Vec::new();
    let mut sources = Vec::new();
    let open = parse::span_range(&def.sql, row.opening_token.0.span);
    let items = open.map_or_else(Vec::new, |open| list_items(&def.sql, open.start));
    for (index, item) in row.content.iter().enumerate() {
        match placeholder(item).filter(|&index| index < def.params.len()) {
            Some(index) => sources.push(index),
            None => {
                let (what, label) = match item {
                    Expr::Cast { .. } => {
                        ("a cast in VALUES", "a cast; COPY takes the value as it is")
                    }
                    Expr::Identifier(ident) if ident.value.eq_ignore_ascii_case("default") => (
                        "DEFAULT in VALUES",
                        "COPY cannot ask for a column's default",
                    ),
                    _ => ("an expression in VALUES", "not a bare parameter"),
                };
                let at = items.get(index).cloned().or_else(|| span_of(item));
                errors.push(shape_error(def, what, at, label));
            }
        }
    }
    if errors.is_empty() && sources.len() != insert.columns.len() {
        let at = parse::span_range(&def.sql, row.opening_token.0.span);
        errors.push(
            Diagnostic::error_at(
                format!(
                    "`:copyfrom` query `{}` has {} columns but {} values",
                    def.name,
                    insert.columns.len(),
                    sources.len()
                ),
                &def.file,
                at.map_or_else(|| def.sql_span.clone(), |at| def.file_span(at)),
            )
            .with_help("write one parameter per column, in the columns' order"),
        );
    }
    if errors.is_empty() {
        Ok(sources)
    } else {
        Err(errors)
    }
}

/// The ranges of the items of the parenthesized list whose `(` starts at
/// byte `open` of `sql`, split at its top-level commas (sqlparser's spans of
/// casts and calls stop short of their end).
fn list_items(sql: &str, open: usize) -> Vec<Range<usize>> {
    let mut items = Vec::new();
    let mut depth = 0usize;
    let mut start = None;
    let mut end = open;
    for token in lex::tokens(&sql[open..]) {
        let span = open + token.span.start..open + token.span.end;
        let text = &sql[span.clone()];
        if token.kind == TokenKind::Punct && matches!(text, "(" | "[") {
            depth += 1;
            if depth == 1 {
                continue;
            }
        }
        if token.kind == TokenKind::Punct && matches!(text, ")" | "]") {
            depth = depth.saturating_sub(1);
        }
        if depth == 0 || (depth == 1 && text == ",") {
            items.extend(start.take().map(|start| start..end));
            if depth == 0 {
                break;
            }
            continue;
        }
        start.get_or_insert(span.start);
        end = span.end;
    }
    items
}

/// The index (0-based) of a bare `$n`.
fn placeholder(expr: &Expr) -> Option<usize> {
    match expr {
        Expr::Value(value) => match &value.value {
            Value::Placeholder(text) => text
                .strip_prefix('$')?
                .parse::<usize>()
                .ok()?
                .checked_sub(1),
            _ => None,
        },
        _ => None,
    }
}

/// `:copyfrom` on a statement it cannot copy: `what` is the offending
/// construct, shown at `at` (a range of the rewritten SQL; the whole query
/// when not found).
fn shape_error(def: &QueryDef, what: &str, at: Option<Range<usize>>, label: &str) -> Diagnostic {
    let span = at.map_or_else(|| def.sql_span.clone(), |at| def.file_span(at));
    Diagnostic::error_at(
        format!(
            "`:copyfrom` query `{}` cannot be a binary COPY: {what}",
            def.name
        ),
        &def.file,
        span,
    )
    .with_label(label)
    .with_note("`:copyfrom` takes only a plain `INSERT INTO t (a, b) VALUES (:a, :b)`: one row of parameters, one per column")
    .with_help(UNNEST_HELP)
}

/// The range of the first run of the words `words` (case-insensitive) in
/// the query's rewritten SQL, outside strings and comments.
fn keyword(def: &QueryDef, words: &[&str]) -> Option<Range<usize>> {
    let tokens: Vec<lex::Token> = lex::tokens(&def.sql)
        .filter(|t| !matches!(t.kind, TokenKind::LineComment | TokenKind::BlockComment))
        .collect();
    tokens.windows(words.len()).find_map(|run| {
        let matches = run.iter().zip(words).all(|(token, word)| {
            token.kind == TokenKind::Word && def.sql[token.span.clone()].eq_ignore_ascii_case(word)
        });
        let (first, last) = (run.first()?, run.last()?);
        matches.then_some(first.span.start..last.span.end)
    })
}

/// After PostgreSQL described the canonical `INSERT` (`sql`) of a
/// `:copyfrom` query: a parameter feeding several columns must have the
/// same type in all of them (its `<Name>Params` field is written to each),
/// and no column may be an array of a domain (binary `COPY` checks an
/// array's element type, and the base type's values are not the domain's).
/// `params` are the query's parameter types as described.
pub fn check_copy_insert(
    def: &QueryDef,
    target: &CopyTarget,
    params: &[Type],
    sql: &str,
    described: Result<&Described, &Diagnostic>,
) -> Option<Diagnostic> {
    let described = match described {
        Ok(described) => described,
        Err(error) => {
            return Some(
                Diagnostic::error_at(
                    format!(
                        "the COPY of `:copyfrom` query `{}` cannot be typed: PostgreSQL rejects its canonical INSERT: {}",
                        def.name, error.message
                    ),
                    &def.file,
                    def.name_span.clone(),
                )
                .with_note(format!("the INSERT prepared for the columns' types:\n{sql}")),
            )
        }
    };
    let param_name = |source: usize| {
        let param = def.params.get(source);
        let name = param.and_then(|p| p.name.clone());
        let span = param.and_then(|p| p.spans.first().cloned());
        (
            name.unwrap_or_else(|| format!("${}", source + 1)),
            span.unwrap_or_else(|| def.sql_span.clone()),
        )
    };
    for (column, &source) in target.sources.iter().enumerate() {
        let column_name = target.columns.get(column).map_or("", String::as_str);
        if let Some(Kind::Array(element)) = params.get(source).map(Type::kind) {
            if let Kind::Domain(_) = element.kind() {
                let (name, span) = param_name(source);
                return Some(
                    Diagnostic::error_at(
                        format!(
                            "column `{column_name}` of `:copyfrom` query `{}` is an array of the domain `{}`, which a binary COPY cannot write",
                            def.name,
                            element.name()
                        ),
                        &def.file,
                        span,
                    )
                    .with_label(format!("`{name}` is written to it"))
                    .with_note("a binary COPY checks an array's element type, and the values are sent as the domain's base type")
                    .with_help("insert these rows with `:batchexec` (one INSERT per row, pipelined on one connection), or give the column the base type's array"),
                );
            }
        }
        let first = target.sources.iter().position(|&s| s == source)?;
        let (Some(expected), Some(actual)) =
            (described.params.get(first), described.params.get(column))
        else {
            continue;
        };
        if expected != actual {
            let (name, span) = param_name(source);
            let first_name = target.columns.get(first).map_or("", String::as_str);
            return Some(
                Diagnostic::error_at(
                    format!(
                        "parameter `{name}` of `:copyfrom` query `{}` fills columns of different types: `{first_name}` ({}) and `{column_name}` ({})",
                        def.name,
                        expected.name(),
                        actual.name()
                    ),
                    &def.file,
                    span,
                )
                .with_label("written to both columns")
                .with_help("use one parameter per column"),
            );
        }
    }
    None
}

#[cfg(test)]
mod tests;
