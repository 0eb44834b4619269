//! Describe: ask PostgreSQL what each statement takes and returns.
//!
//! Owns the round trips that prepare every query (concurrently, so
//! tokio-postgres pipelines them on one connection) and turns the answers
//! into [`Described`] values: parameter types, and for each output column its
//! name, type, and source table OID / attribute number. PostgreSQL errors
//! become diagnostics at the right `file:line:col`: the server reports a
//! *character* position in the rewritten SQL, which is converted to a byte
//! offset and mapped back through the placeholder rewriting.

use postgres_types::Type;
use tokio_postgres::error::ErrorPosition;
use tokio_postgres::Client;

use crate::diagnostic::Diagnostic;
use crate::lex::QueryDef;
use crate::schema::char_position_to_byte;

/// One output column as PostgreSQL describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct DescribedColumn {
    /// Column name (after aliasing).
    pub name: String,
    /// Column type.
    pub ty: Type,
    /// Source table, when the column is a plain reference to a table column.
    pub table_oid: Option<u32>,
    /// Source attribute number within `table_oid`.
    pub column_id: Option<i16>,
}

/// What PostgreSQL says about one statement.
#[derive(Debug, Clone, PartialEq)]
pub struct Described {
    /// Parameter types, `$1` first.
    pub params: Vec<Type>,
    /// Output columns in order.
    pub columns: Vec<DescribedColumn>,
}

impl Described {
    /// The error for `what` naming a column this query does not return:
    /// `` `what` is not a column of query `Q` ``, listing the columns it does return.
    pub fn unknown_column(
        &self,
        query: &QueryDef,
        what: &str,
        span: std::ops::Range<usize>,
    ) -> Diagnostic {
        let columns: Vec<&str> = self.columns.iter().map(|c| c.name.as_str()).collect();
        Diagnostic::error_at(
            format!("`{what}` is not a column of query `{}`", query.name),
            &query.file,
            span,
        )
        .with_label("unknown column")
        .with_help(format!("the query returns: {}", columns.join(", ")))
    }
}

/// Describes every query on one connection, pipelined. The result is in the
/// order of `queries`.
pub async fn describe_statements(
    client: &Client,
    queries: &[&QueryDef],
) -> Vec<Result<Described, Diagnostic>> {
    let prepares = queries.iter().map(|query| async move {
        match client.prepare(&query.sql).await {
            Ok(statement) => Ok(Described {
                params: statement.params().to_vec(),
                columns: statement
                    .columns()
                    .iter()
                    .map(|column| DescribedColumn {
                        name: column.name().to_string(),
                        ty: column.type_().clone(),
                        table_oid: column.table_oid().filter(|oid| *oid != 0),
                        column_id: column.column_id().filter(|id| *id > 0),
                    })
                    .collect(),
            }),
            Err(error) => Err(database_error(query, &error)),
        }
    });
    futures_util::future::join_all(prepares).await
}

/// Turns a PostgreSQL error for `query` into a diagnostic pointing into its file.
pub fn database_error(query: &QueryDef, error: &tokio_postgres::Error) -> Diagnostic {
    let Some(db) = error.as_db_error() else {
        return Diagnostic::error_at(
            format!("could not describe query `{}`: {error}", query.name),
            &query.file,
            query.name_span.clone(),
        );
    };
    let span = match db.position() {
        Some(ErrorPosition::Original(position)) => {
            let start = char_position_to_byte(&query.sql, *position as usize);
            let end = token_end(&query.sql, start);
            query.file_span(start..end)
        }
        // No position: the statement's first word, not the file's start.
        _ => param_span_from_message(query, db.message())
            .unwrap_or_else(|| query.file_span(0..token_end(&query.sql, 0))),
    };
    let mut diagnostic = Diagnostic::error_at(db.message().to_string(), &query.file, span)
        .with_label(format!(
            "PostgreSQL error {} in query `{}`",
            db.code().code(),
            query.name
        ));
    if let Some(hint) = db.hint() {
        diagnostic = diagnostic.with_help(hint.to_string());
    }
    if let Some(detail) = db.detail() {
        diagnostic = diagnostic.with_note(detail.to_string());
    }
    if let Some(ErrorPosition::Internal {
        query: internal, ..
    }) = db.position()
    {
        diagnostic = diagnostic.with_note(format!("in an internally generated query: {internal}"));
    }
    diagnostic
}

/// Errors like "could not determine data type of parameter $2" carry no
/// position; point at the parameter's first use instead.
fn param_span_from_message(query: &QueryDef, message: &str) -> Option<std::ops::Range<usize>> {
    let at = message.find("parameter $")?;
    let digits: String = message[at + "parameter $".len()..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    let index: usize = digits.parse().ok()?;
    query
        .params
        .get(index.checked_sub(1)?)?
        .spans
        .first()
        .cloned()
}

/// End of the token starting at `start` (identifier, number, or one character).
fn token_end(sql: &str, start: usize) -> usize {
    let rest = &sql[start.min(sql.len())..];
    let word = rest
        .char_indices()
        .find(|(_, c)| !(c.is_alphanumeric() || *c == '_' || *c == '.' || *c == '$'))
        .map_or(rest.len(), |(i, _)| i);
    let len = if word == 0 {
        rest.chars().next().map_or(0, char::len_utf8)
    } else {
        word
    };
    start + len
}
