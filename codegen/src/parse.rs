//! Parsing: each query's rewritten SQL through sqlparser's PostgreSQL dialect.
//!
//! Owns the conversion of a [`QueryDef`]'s SQL into a sqlparser [`Statement`]
//! and the facts later stages read straight off the syntax tree: what kind of
//! statement it is ([`StatementClass`]) and what positional parameters are
//! compared with (to name `$1` after its column). Syntax errors carry their
//! position in the rewritten SQL; mapping to the file is the caller's job via
//! [`QueryDef::offsets`]. No IO, no catalog.

use std::collections::HashMap;
use std::ops::ControlFlow;

use sqlparser::ast::{
    visit_expressions, AssignmentTarget, Expr, ObjectName, ObjectNamePart, SetExpr, Statement,
    TableFactor, TableObject, Value,
};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;

use crate::lex::QueryDef;

/// A syntax error reported by sqlparser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// sqlparser's message without its location suffix.
    pub message: String,
    /// Byte offset in the rewritten SQL (0 when sqlparser gave no location).
    pub offset: usize,
}

/// Parses one statement of rewritten SQL.
pub fn parse_statement(sql: &str) -> Result<Statement, SyntaxError> {
    // A syntax tree this deep would overflow the stack while it is walked or
    // even dropped (sqlparser's own recursion limit misses left-deep chains
    // like `1 + 1 + …`, which it parses in a loop).
    if let Some(offset) = crate::lex::nesting_exceeds(sql, crate::lex::MAX_NESTING) {
        return Err(SyntaxError {
            message: format!(
                "too deeply nested (more than {} levels)",
                crate::lex::MAX_NESTING
            ),
            offset,
        });
    }
    let mut statements = Parser::parse_sql(&PostgreSqlDialect {}, sql).map_err(|error| {
        let text = error.to_string();
        let text = text
            .strip_prefix("sql parser error: ")
            .unwrap_or(&text)
            .to_string();
        let (message, offset) = split_location(sql, &text);
        SyntaxError { message, offset }
    })?;
    match statements.len() {
        1 => Ok(statements.remove(0)),
        0 => Err(SyntaxError {
            message: "empty statement".to_string(),
            offset: 0,
        }),
        _ => Err(SyntaxError {
            message: "more than one statement in a query".to_string(),
            offset: 0,
        }),
    }
}

/// Splits "… at Line: 3, Column: 8" off a sqlparser message into a byte offset.
fn split_location(sql: &str, text: &str) -> (String, usize) {
    let Some(at) = text.rfind(" at Line: ") else {
        // sqlparser gives no location for errors at the end of input.
        let offset = if text.ends_with("found: EOF") {
            sql.len()
        } else {
            0
        };
        return (text.to_string(), offset);
    };
    let location = &text[at + " at Line: ".len()..];
    let mut parts = location.split(", Column: ");
    let line = parts.next().and_then(|l| l.trim().parse::<usize>().ok());
    let col = parts.next().and_then(|c| {
        c.trim()
            .trim_end_matches(|ch: char| !ch.is_ascii_digit())
            .parse::<usize>()
            .ok()
    });
    match (line, col) {
        (Some(line), Some(col)) => (text[..at].to_string(), line_col_to_offset(sql, line, col)),
        _ => (text.to_string(), 0),
    }
}

fn line_col_to_offset(text: &str, line: usize, col: usize) -> usize {
    let mut start = 0;
    for _ in 1..line {
        match text[start..].find('\n') {
            Some(i) => start += i + 1,
            None => return text.len(),
        }
    }
    let rest = &text[start..];
    start
        + rest
            .char_indices()
            .nth(col.saturating_sub(1))
            .map_or(rest.len(), |(i, _)| i)
}

/// The byte range of a sqlparser [`Span`](sqlparser::tokenizer::Span)
/// (lines and character columns) in the `sql` it was parsed from; `None`
/// for the empty span sqlparser gives nodes it has no location for.
pub fn span_range(sql: &str, span: sqlparser::tokenizer::Span) -> Option<std::ops::Range<usize>> {
    let (start, end) = (span.start, span.end);
    if start.line == 0 || end.line == 0 {
        return None;
    }
    let offset = |line: u64, column: u64| {
        line_col_to_offset(
            sql,
            usize::try_from(line).unwrap_or(usize::MAX),
            usize::try_from(column).unwrap_or(usize::MAX),
        )
    };
    let (start, end) = (
        offset(start.line, start.column),
        offset(end.line, end.column),
    );
    (start <= end).then_some(start..end)
}

/// What a statement does, as far as query kinds care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatementClass {
    /// `SELECT`, `VALUES`, `WITH … SELECT`, `TABLE`.
    Query,
    /// `INSERT`, `UPDATE`, `DELETE`, `MERGE`; `returning` when it has a `RETURNING` clause.
    Modify {
        /// SQL keyword of the statement.
        verb: &'static str,
        /// Has `RETURNING`.
        returning: bool,
    },
    /// Anything else (DDL, utility statements).
    Other,
}

/// Classifies a statement.
pub fn classify(statement: &Statement) -> StatementClass {
    match statement {
        Statement::Query(query) => match query.body.as_ref() {
            SetExpr::Insert(inner)
            | SetExpr::Update(inner)
            | SetExpr::Delete(inner)
            | SetExpr::Merge(inner) => classify(inner),
            _ => StatementClass::Query,
        },
        Statement::Insert(insert) => StatementClass::Modify {
            verb: "INSERT",
            returning: insert.returning.is_some(),
        },
        Statement::Update(update) => StatementClass::Modify {
            verb: "UPDATE",
            returning: update.returning.is_some(),
        },
        Statement::Delete(delete) => StatementClass::Modify {
            verb: "DELETE",
            returning: delete.returning.is_some(),
        },
        Statement::Merge(_) => StatementClass::Modify {
            verb: "MERGE",
            returning: false,
        },
        _ => StatementClass::Other,
    }
}

/// The last identifier of an object name (`public.posts` → `posts`).
pub fn object_base_name(name: &ObjectName) -> Option<String> {
    match name.0.last()? {
        ObjectNamePart::Identifier(ident) => Some(normalize_ident(ident)),
        ObjectNamePart::Function(_) => None,
    }
}

/// The schema part of an object name, if qualified.
pub fn object_schema(name: &ObjectName) -> Option<String> {
    if name.0.len() < 2 {
        return None;
    }
    match &name.0[name.0.len() - 2] {
        ObjectNamePart::Identifier(ident) => Some(normalize_ident(ident)),
        ObjectNamePart::Function(_) => None,
    }
}

/// PostgreSQL folds unquoted identifiers to lower case.
pub fn normalize_ident(ident: &sqlparser::ast::Ident) -> String {
    if ident.quote_style.is_some() {
        ident.value.clone()
    } else {
        ident.value.to_lowercase()
    }
}

fn column_name(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Identifier(ident) => Some(normalize_ident(ident)),
        Expr::CompoundIdentifier(parts) => parts.last().map(normalize_ident),
        Expr::Nested(inner) | Expr::Cast { expr: inner, .. } => column_name(inner),
        _ => None,
    }
}

fn placeholder_index(expr: &Expr) -> Option<usize> {
    match expr {
        Expr::Value(value) => match &value.value {
            Value::Placeholder(p) => p.strip_prefix('$')?.parse().ok(),
            _ => None,
        },
        Expr::Nested(inner) | Expr::Cast { expr: inner, .. } => placeholder_index(inner),
        _ => None,
    }
}

/// For each positional parameter `$n` (1-based, up to `count`), the column it is
/// compared with, assigned to, or inserted into — the name it gets in Rust.
pub fn positional_param_names(statement: &Statement, count: usize) -> Vec<Option<String>> {
    let mut names: HashMap<usize, String> = HashMap::new();
    let mut record = |index: Option<usize>, name: Option<String>| {
        if let (Some(index), Some(name)) = (index, name) {
            names.entry(index).or_insert(name);
        }
    };
    let _ = visit_expressions(statement, |expr| {
        match expr {
            Expr::BinaryOp { left, right, .. } => {
                record(placeholder_index(right), column_name(left));
                record(placeholder_index(left), column_name(right));
            }
            Expr::AnyOp { left, right, .. } | Expr::AllOp { left, right, .. } => {
                record(
                    placeholder_index(right),
                    column_name(left).map(|n| format!("{n}s")),
                );
            }
            Expr::InList { expr, list, .. } => {
                for item in list {
                    record(placeholder_index(item), column_name(expr));
                }
            }
            Expr::Between {
                expr, low, high, ..
            } => {
                let name = column_name(expr);
                record(
                    placeholder_index(low),
                    name.as_ref().map(|n| format!("{n}_from")),
                );
                record(placeholder_index(high), name.map(|n| format!("{n}_to")));
            }
            _ => {}
        }
        ControlFlow::<()>::Continue(())
    });
    match statement {
        Statement::Insert(insert) => {
            let columns: Vec<String> = insert.columns.iter().filter_map(object_base_name).collect();
            if let Some(SetExpr::Values(values)) = insert.source.as_ref().map(|q| q.body.as_ref()) {
                for row in &values.rows {
                    for (expr, column) in row.iter().zip(&columns) {
                        record(placeholder_index(expr), Some(column.clone()));
                    }
                }
            }
        }
        Statement::Update(update) => {
            for assignment in &update.assignments {
                if let AssignmentTarget::ColumnName(name) = &assignment.target {
                    record(placeholder_index(&assignment.value), object_base_name(name));
                }
            }
        }
        _ => {}
    }
    (1..=count).map(|i| names.remove(&i)).collect()
}

/// A table column a parameter's value is written into.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamTarget {
    /// The table's schema, when qualified.
    pub schema: Option<String>,
    /// The table, as PostgreSQL folds it.
    pub table: String,
    /// The column, as PostgreSQL folds it.
    pub column: String,
}

/// For each parameter `$n` (1-based, up to `count`), the columns its value
/// is written into: `INSERT INTO t (c) VALUES ($n)` (every row) and
/// `UPDATE t SET c = $n`. sqlc gives such a parameter the column's
/// nullability.
pub fn param_targets(statement: &Statement, count: usize) -> Vec<Vec<ParamTarget>> {
    let mut targets = vec![Vec::new(); count];
    let mut record = |expr: &Expr, name: &ObjectName, column: Option<String>| {
        let (Some(index), Some(table), Some(column)) =
            (placeholder_index(expr), object_base_name(name), column)
        else {
            return;
        };
        if let Some(slot) = index.checked_sub(1).and_then(|i| targets.get_mut(i)) {
            slot.push(ParamTarget {
                schema: object_schema(name),
                table,
                column,
            });
        }
    };
    match statement {
        Statement::Insert(insert) => {
            let TableObject::TableName(table) = &insert.table else {
                return targets;
            };
            let columns: Vec<String> = insert.columns.iter().filter_map(object_base_name).collect();
            if let Some(SetExpr::Values(values)) = insert.source.as_ref().map(|q| q.body.as_ref()) {
                for row in &values.rows {
                    for (expr, column) in row.iter().zip(&columns) {
                        record(expr, table, Some(column.clone()));
                    }
                }
            }
        }
        Statement::Update(update) => {
            let TableFactor::Table { name: table, .. } = &update.table.relation else {
                return targets;
            };
            for assignment in &update.assignments {
                if let AssignmentTarget::ColumnName(name) = &assignment.target {
                    record(&assignment.value, table, object_base_name(name));
                }
            }
        }
        _ => {}
    }
    targets
}

/// Parses a lexed query; on failure returns the error with its offset in the rewritten SQL.
pub fn parse_query(query: &QueryDef) -> Result<Statement, SyntaxError> {
    parse_statement(&query.sql)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax_error_offsets() {
        let error = parse_statement("SELECT a\nFROM t WHERE )").err();
        let error = error.unwrap_or_else(|| panic!("expected a syntax error"));
        assert!(error.message.contains("Expected"), "{}", error.message);
        assert!(!error.message.contains("Line:"), "{}", error.message);
        assert_eq!(error.offset, "SELECT a\nFROM t WHERE ".len());
    }

    #[test]
    fn deep_nesting_is_refused_before_parsing() {
        // Parsed, this 350,000-level tree would overflow the stack when dropped.
        let sql = format!("SELECT {}", vec!["1"; 350_000].join(" + "));
        let error = parse_statement(&sql).err();
        let error = error.unwrap_or_else(|| panic!("expected an error"));
        assert_eq!(error.message, "too deeply nested (more than 1000 levels)");
        assert_eq!(error.offset, "SELECT ".len() + 1000 * 4 + 2);
        let sql = format!("SELECT {}1{}", "(".repeat(100_000), ")".repeat(100_000));
        assert!(parse_statement(&sql).is_err());
        // At the limit it parses (sqlparser loops over a flat chain).
        let sql = format!("SELECT {}", vec!["1"; 1000].join(" + "));
        assert!(parse_statement(&sql).is_ok());
    }

    #[test]
    fn finds_the_columns_parameters_are_written_into() {
        let targets = |sql: &str, n: usize| -> Vec<Vec<String>> {
            parse_statement(sql)
                .map(|s| param_targets(&s, n))
                .unwrap_or_default()
                .into_iter()
                .map(|columns| {
                    columns
                        .into_iter()
                        .map(|t| match t.schema {
                            Some(schema) => format!("{schema}.{}.{}", t.table, t.column),
                            None => format!("{}.{}", t.table, t.column),
                        })
                        .collect()
                })
                .collect()
        };
        assert_eq!(
            targets(
                "INSERT INTO app.\"T\" (a, B) VALUES ($1, $2::int), ($3, $1)",
                3
            ),
            [vec!["app.T.a", "app.T.b"], vec!["app.T.b"], vec!["app.T.a"]]
        );
        assert_eq!(
            targets("UPDATE t SET a = $2, b = coalesce($1, b) WHERE id = $3", 3),
            [vec![], vec!["t.a"], vec![]]
        );
        assert_eq!(targets("SELECT $1", 1), [Vec::<String>::new()]);
    }

    #[test]
    fn classifies() {
        let class = |sql: &str| parse_statement(sql).map(|s| classify(&s)).ok();
        assert_eq!(class("SELECT 1"), Some(StatementClass::Query));
        assert_eq!(
            class("WITH x AS (SELECT 1) SELECT * FROM x"),
            Some(StatementClass::Query)
        );
        assert_eq!(
            class("INSERT INTO t (a) VALUES (1)"),
            Some(StatementClass::Modify {
                verb: "INSERT",
                returning: false
            })
        );
        assert_eq!(
            class("UPDATE t SET a = 1 RETURNING a"),
            Some(StatementClass::Modify {
                verb: "UPDATE",
                returning: true
            })
        );
        assert_eq!(class("CREATE TABLE t (a int)"), Some(StatementClass::Other));
    }

    #[test]
    fn names_positional_params() {
        let names = |sql: &str, n: usize| {
            parse_statement(sql)
                .map(|s| positional_param_names(&s, n))
                .ok()
        };
        assert_eq!(
            names(
                "SELECT * FROM t WHERE t.author_id = $1 AND $2 < created_at",
                2
            ),
            Some(vec![
                Some("author_id".to_string()),
                Some("created_at".to_string())
            ])
        );
        assert_eq!(
            names("INSERT INTO t (a, b) VALUES ($1, $2)", 2),
            Some(vec![Some("a".to_string()), Some("b".to_string())])
        );
        assert_eq!(
            names("UPDATE t SET title = $2 WHERE id = $1", 2),
            Some(vec![Some("id".to_string()), Some("title".to_string())])
        );
        assert_eq!(names("SELECT $1::int + 1", 1), Some(vec![None]));
        assert_eq!(
            names("SELECT * FROM t WHERE id = ANY($1)", 1),
            Some(vec![Some("ids".to_string())])
        );
    }
}
