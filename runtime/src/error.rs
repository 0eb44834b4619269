//! [`Error`]: what every generated function returns, always carrying the
//! query name.

use std::error::Error as _;
use std::fmt;

use tokio_postgres::error::{DbError, SqlState};

/// Error from running a generated query.
///
/// Every variant carries the name of the query (see [`Error::query`]), so a
/// log line says which statement failed without a backtrace.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// PostgreSQL (or the connection to it) reported an error while the
    /// statement was prepared or executed.
    #[error("query `{query}` failed: {}", SourceMessage(.source))]
    Db {
        /// The query name.
        query: &'static str,
        /// The tokio-postgres error; see [`Error::as_db_error`] for the server's report.
        source: tokio_postgres::Error,
    },
    /// No connection could be taken from the pool.
    #[error("query `{query}`: cannot get a connection from the pool: {source}")]
    Pool {
        /// The query name.
        query: &'static str,
        /// The pool's error.
        source: deadpool_postgres::PoolError,
    },
    /// A column of a returned row could not be decoded into its Rust type.
    ///
    /// When the result no longer has the shape the code was generated for
    /// (a column of another type, an unexpected `NULL`, a missing column:
    /// the schema changed), the message says that the generated code is
    /// stale and must be regenerated; see [`Error::is_stale_code`].
    #[error(
        "query `{query}`: cannot decode column `{column}` (index {index}): {}",
        DecodeMessage(.source)
    )]
    Decode {
        /// The query name.
        query: &'static str,
        /// The column name.
        column: &'static str,
        /// The column position (0-based).
        index: usize,
        /// The tokio-postgres error.
        source: tokio_postgres::Error,
    },
    /// A `:one` query returned no row.
    #[error("query `{query}` returned no row, expected exactly one")]
    NotFound {
        /// The query name.
        query: &'static str,
    },
    /// A `:one` or `:opt` query returned more than one row.
    #[error("query `{query}` returned more than one row, expected at most one")]
    TooManyRows {
        /// The query name.
        query: &'static str,
    },
    /// A to-one relation that the schema promises (a NOT NULL foreign key)
    /// found no row: it was deleted between the parent's statement and the
    /// loader's. Never papered over with a default.
    #[error("query `{query}` found no row for key {key}, which a parent row references")]
    MissingRelated {
        /// The loader's query name.
        query: &'static str,
        /// The key, formatted with `Debug`.
        key: String,
    },
    /// The N+1 detector, with [`NPlusOneAction::Error`](crate::NPlusOneAction::Error),
    /// refused to run the query once more in the same scope: the statement
    /// was not sent.
    #[error(
        "query `{query}` would run {count} times in one scope (N+1 detected): \
         load the rows with one batched statement instead \
         (a loader with `= ANY($1)`, or `-- @prefetch` on the parent query)"
    )]
    NPlusOne {
        /// The query name.
        query: &'static str,
        /// How many times it would have run in the scope, counting the
        /// refused execution.
        count: u32,
    },
    /// An element of a `:batch…` query failed (the statement of the element
    /// at `index` in the slice): the batch's transaction was rolled back,
    /// or, in the caller's transaction, that transaction is aborted.
    #[error("query `{query}` failed at batch element {index}: {}", SourceMessage(.source))]
    Batch {
        /// The query name.
        query: &'static str,
        /// The element's position in the slice (0-based).
        index: usize,
        /// The tokio-postgres error; see [`Error::as_db_error`] for the server's report.
        source: tokio_postgres::Error,
    },
    /// The statement cannot be sent pooler-safe ([`Pooler`](crate::Pooler)):
    /// a parameter type is missing or unknown, or a user-defined type cannot
    /// be resolved on this connection; nothing was sent for it.
    #[error("query `{query}` cannot run pooler-safe: {source}")]
    Pooler {
        /// The query name.
        query: &'static str,
        /// What is missing.
        source: crate::pooler::PoolerError,
    },
    /// An element of a `:batchone` query returned no row or several.
    #[error("query `{query}`: batch element {index} returned {rows} rows, expected exactly one")]
    BatchRowCount {
        /// The query name.
        query: &'static str,
        /// The element's position in the slice (0-based).
        index: usize,
        /// How many rows it returned.
        rows: usize,
    },
}

impl Error {
    /// The name of the query that failed.
    pub fn query(&self) -> &'static str {
        match self {
            Self::Db { query, .. }
            | Self::Pool { query, .. }
            | Self::Decode { query, .. }
            | Self::NotFound { query }
            | Self::TooManyRows { query }
            | Self::MissingRelated { query, .. }
            | Self::NPlusOne { query, .. }
            | Self::Batch { query, .. }
            | Self::BatchRowCount { query, .. }
            | Self::Pooler { query, .. } => query,
        }
    }

    /// The error PostgreSQL reported, if this is one (including one raised
    /// while the pool opened a new connection).
    pub fn as_db_error(&self) -> Option<&DbError> {
        match self {
            Self::Db { source, .. } | Self::Batch { source, .. } => source.as_db_error(),
            Self::Pool {
                source: deadpool_postgres::PoolError::Backend(source),
                ..
            } => source.as_db_error(),
            _ => None,
        }
    }

    /// The SQLSTATE code of the error PostgreSQL reported, if any: compare it
    /// with the constants of [`SqlState`], e.g. `SqlState::UNIQUE_VIOLATION`.
    pub fn code(&self) -> Option<&SqlState> {
        self.as_db_error().map(DbError::code)
    }

    /// Whether this is a decode error saying that the generated code no
    /// longer matches the query's result (a column changed type or became
    /// nullable, or is missing): the code must be regenerated.
    pub fn is_stale_code(&self) -> bool {
        match self {
            Self::Decode { source, .. } => is_shape_mismatch(source),
            _ => false,
        }
    }

    /// Whether the server canceled the statement (SQLSTATE 57014,
    /// `query_canceled`): it ran past its statement timeout (see
    /// [`PoolBuilder::statement_timeout`](crate::PoolBuilder::statement_timeout);
    /// the message then says "canceling statement due to statement timeout"),
    /// or a cancel request came from elsewhere (`pg_cancel_backend`). The
    /// statements the runtime itself cancels are those of dropped futures,
    /// whose error nobody sees.
    pub fn is_canceled(&self) -> bool {
        self.code() == Some(&SqlState::QUERY_CANCELED)
    }

    /// The column that could not be decoded, for [`Error::Decode`].
    pub fn column(&self) -> Option<&'static str> {
        match self {
            Self::Decode { column, .. } => Some(column),
            _ => None,
        }
    }

    /// The error of the batch element at `index`: a database error becomes
    /// [`Error::Batch`]; any other is kept as it is.
    #[cold]
    pub(crate) fn into_batch_error(self, index: usize) -> Self {
        match self {
            Self::Db { query, source } => Self::Batch {
                query,
                index,
                source,
            },
            other => other,
        }
    }

    #[cold]
    pub(crate) fn db(query: &'static str, source: tokio_postgres::Error) -> Self {
        Self::Db { query, source }
    }
}

/// Displays the useful part of a tokio-postgres error, whose own `Display`
/// stops at its kind ("db error", "error communicating with the server"): the
/// server's report (severity, message, detail, hint) for a database error,
/// the kind followed by the underlying cause otherwise.
pub(crate) struct SourceMessage<'a>(pub(crate) &'a tokio_postgres::Error);

impl fmt::Display for SourceMessage<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(db_error) = self.0.as_db_error() {
            return fmt::Display::fmt(db_error, f);
        }
        fmt::Display::fmt(self.0, f)?;
        match self.0.source() {
            Some(cause) => write!(f, ": {cause}"),
            None => Ok(()),
        }
    }
}

/// Displays why a column could not be decoded: the cause (wrong type,
/// unexpected `NULL`, …) without tokio-postgres' "error deserializing column
/// N" prefix, which repeats what the surrounding message already says; and,
/// when the result's shape no longer matches the Rust type, that the
/// generated code is stale.
pub(crate) struct DecodeMessage<'a>(pub(crate) &'a tokio_postgres::Error);

impl fmt::Display for DecodeMessage<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.source() {
            Some(cause) => fmt::Display::fmt(cause, f)?,
            None => f.write_str("the row has no such column")?,
        }
        if is_shape_mismatch(self.0) {
            f.write_str(
                "; the generated code is stale (the query's result no longer has \
                 the shape it was generated for, e.g. after a schema change): regenerate it",
            )?;
        }
        Ok(())
    }
}

/// Whether a decode error from [`Row::try_get`](tokio_postgres::Row::try_get)
/// means that the row does not have the shape the Rust code expects: a
/// column index past the end (the only such error without a cause), a
/// column of another type, or a `NULL` where the code expects none.
pub(crate) fn is_shape_mismatch(error: &tokio_postgres::Error) -> bool {
    match error.source() {
        None => true,
        Some(cause) => {
            cause.is::<postgres_types::WrongType>() || cause.is::<postgres_types::WasNull>()
        }
    }
}

#[cfg(test)]
mod tests {
    use std::error::Error as _;

    use deadpool_postgres::{PoolError, TimeoutType};

    use super::Error;

    /// A tokio-postgres error with a cause, made without a server.
    fn config_error() -> tokio_postgres::Error {
        match "port=notaport".parse::<tokio_postgres::Config>() {
            Ok(_) => panic!("`port=notaport` parsed"),
            Err(error) => error,
        }
    }

    #[test]
    fn db_error_names_the_query_and_the_cause() {
        let error = Error::Db {
            query: "ListPosts",
            source: config_error(),
        };
        assert_eq!(
            error.to_string(),
            "query `ListPosts` failed: invalid connection string: invalid value for option `port`"
        );
        assert_eq!(error.query(), "ListPosts");
        assert!(error.as_db_error().is_none());
        assert!(error.code().is_none());
        assert_eq!(error.column(), None);
        assert!(error.source().is_some());
    }

    #[test]
    fn decode_error_names_query_column_and_index() {
        let error = Error::Decode {
            query: "GetPost",
            column: "title",
            index: 1,
            source: config_error(),
        };
        assert_eq!(
            error.to_string(),
            "query `GetPost`: cannot decode column `title` (index 1): invalid value for option `port`"
        );
        assert_eq!(error.query(), "GetPost");
        assert_eq!(error.column(), Some("title"));
        assert!(error.code().is_none());
    }

    #[test]
    fn pool_error_names_the_query() {
        let error = Error::Pool {
            query: "ListPosts",
            source: PoolError::Timeout(TimeoutType::Wait),
        };
        assert_eq!(error.query(), "ListPosts");
        assert!(
            error
                .to_string()
                .starts_with("query `ListPosts`: cannot get a connection from the pool: "),
            "{error}"
        );
        assert!(error.as_db_error().is_none());
        assert!(error.source().is_some());
    }

    #[test]
    fn row_count_errors() {
        let not_found = Error::NotFound { query: "GetPost" };
        assert_eq!(
            not_found.to_string(),
            "query `GetPost` returned no row, expected exactly one"
        );
        assert_eq!(not_found.query(), "GetPost");
        assert!(not_found.source().is_none());

        let too_many = Error::TooManyRows { query: "FindPost" };
        assert_eq!(
            too_many.to_string(),
            "query `FindPost` returned more than one row, expected at most one"
        );
        assert_eq!(too_many.query(), "FindPost");
        assert_eq!(too_many.column(), None);
    }

    #[test]
    fn n_plus_one_error_names_query_and_count() {
        let error = Error::NPlusOne {
            query: "GetAuthor",
            count: 6,
        };
        assert_eq!(error.query(), "GetAuthor");
        assert_eq!(
            error.to_string(),
            "query `GetAuthor` would run 6 times in one scope (N+1 detected): \
             load the rows with one batched statement instead \
             (a loader with `= ANY($1)`, or `-- @prefetch` on the parent query)"
        );
        assert!(error.source().is_none());
        assert!(error.code().is_none());
    }

    #[test]
    fn error_is_send_sync_and_static() {
        fn assert_bounds<T: Send + Sync + 'static>() {}
        assert_bounds::<Error>();
        assert_bounds::<crate::DecodeError>();
    }
}
