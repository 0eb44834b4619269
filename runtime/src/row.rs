//! Turning a [`Row`] into a generated row struct: [`FromRow`], [`decode`] and
//! the column-level [`DecodeError`].
//!
//! A decode error knows the column but not the query; the fetch helpers add
//! the query name when they turn it into an [`Error`].

use std::fmt;

use postgres_types::FromSql;
use tokio_postgres::Row;

use crate::error::{DecodeMessage, Error};

/// Rows that generated code can build from a [`tokio_postgres::Row`].
///
/// Generated row structs implement it by calling [`decode`] once per column,
/// by position.
pub trait FromRow: Sized {
    /// Builds `Self` from one row of the query's result.
    fn from_row(row: &Row) -> Result<Self, DecodeError>;
}

/// Decodes column `index` (named `column` for messages) of `row`.
///
/// This is [`Row::try_get`] by position, with the column name kept for the
/// error message.
#[inline]
pub fn decode<'a, T: FromSql<'a>>(
    row: &'a Row,
    index: usize,
    column: &'static str,
) -> Result<T, DecodeError> {
    match row.try_get(index) {
        Ok(value) => Ok(value),
        Err(source) => Err(DecodeError::new(column, index, source)),
    }
}

/// Whether column `index` (named `column` for messages) of `row` is NULL,
/// whatever its type.
///
/// Generated code reads an embedded table (`sqlc.embed(t)`) on the nullable
/// side of an outer join as `None` when one of its `NOT NULL` columns is.
#[inline]
pub fn is_null(row: &Row, index: usize, column: &'static str) -> Result<bool, DecodeError> {
    decode::<Option<AnyValue>>(row, index, column).map(|value| value.is_none())
}

/// A value of any type, read without looking at its bytes.
struct AnyValue;

impl<'a> FromSql<'a> for AnyValue {
    fn from_sql(
        _: &postgres_types::Type,
        _: &'a [u8],
    ) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(AnyValue)
    }

    fn accepts(_: &postgres_types::Type) -> bool {
        true
    }
}

/// Error decoding one column of a row (the query name is added by the
/// runtime, see [`Error::Decode`]).
#[derive(Debug)]
pub struct DecodeError {
    column: &'static str,
    index: usize,
    source: tokio_postgres::Error,
}

impl DecodeError {
    /// Creates a decode error, for hand-written [`FromRow`] impls that call
    /// [`Row::try_get`] themselves.
    #[cold]
    pub fn new(column: &'static str, index: usize, source: tokio_postgres::Error) -> Self {
        Self {
            column,
            index,
            source,
        }
    }

    /// The name of the column that could not be decoded.
    pub fn column(&self) -> &'static str {
        self.column
    }

    /// The position of that column in the row (0-based).
    pub fn index(&self) -> usize {
        self.index
    }

    /// The tokio-postgres error: wrong type, unexpected `NULL`, bad bytes…
    pub fn error(&self) -> &tokio_postgres::Error {
        &self.source
    }

    /// Consumes the error, returning the tokio-postgres error.
    pub fn into_error(self) -> tokio_postgres::Error {
        self.source
    }

    /// Attaches the query name.
    #[cold]
    pub(crate) fn into_query_error(self, query: &'static str) -> Error {
        Error::Decode {
            query,
            column: self.column,
            index: self.index,
            source: self.source,
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cannot decode column `{}` (index {}): {}",
            self.column,
            self.index,
            DecodeMessage(&self.source)
        )
    }
}

impl std::error::Error for DecodeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

#[cfg(test)]
mod tests {
    use std::error::Error as _;

    use super::DecodeError;
    use crate::Error;

    fn config_error() -> tokio_postgres::Error {
        match "port=notaport".parse::<tokio_postgres::Config>() {
            Ok(_) => panic!("`port=notaport` parsed"),
            Err(error) => error,
        }
    }

    #[test]
    fn accessors_and_display() {
        let error = DecodeError::new("published_at", 3, config_error());
        assert_eq!(error.column(), "published_at");
        assert_eq!(error.index(), 3);
        assert_eq!(
            error.to_string(),
            "cannot decode column `published_at` (index 3): invalid value for option `port`"
        );
        assert!(error.source().is_some());
        assert_eq!(error.error().to_string(), "invalid connection string");
    }

    #[test]
    fn the_runtime_adds_the_query_name() {
        let error =
            DecodeError::new("published_at", 3, config_error()).into_query_error("ListPosts");
        assert!(matches!(
            error,
            Error::Decode {
                query: "ListPosts",
                column: "published_at",
                index: 3,
                ..
            }
        ));
    }
}
