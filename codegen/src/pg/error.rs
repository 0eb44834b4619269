//! [`PgError`], why a server could not be found, started, reached or used,
//! and the small helpers every part of `pg` reports through (an io error with
//! its context, tokio-postgres's source chain, a poison-tolerant lock).

use std::io;
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard, PoisonError};

/// Why a server could not be found, started, reached or used.
#[derive(Debug, thiserror::Error)]
pub enum PgError {
    #[error(
        "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found on PATH or under \
         {searched}; install them (Debian/Ubuntu: apt-get install postgresql, \
         Fedora: dnf install postgresql-server, macOS: brew install postgresql), set \
         QUARRY_PG_BIN to their directory, or set DATABASE_URL to use a running server"
    )]
    BinariesNotFound {
        /// The versioned root searched (`/usr/lib/postgresql/*/bin`, or `QUARRY_PG_ROOT`'s).
        searched: String,
    },

    #[error(
        "QUARRY_PG_BIN={} has no executable `{missing}`; point it at the directory that \
         contains initdb, pg_ctl and postgres",
        .dir.display()
    )]
    BadBinDir { dir: PathBuf, missing: &'static str },

    #[error(
        "running as root, so the PostgreSQL server has to run as the `{user}` system user, but \
         {reason}; create that user (Debian: apt-get install postgresql, or useradd --system \
         {user}), run as a non-root user, or set DATABASE_URL to use a running server"
    )]
    ServerUser { user: &'static str, reason: String },

    #[error(
        "{} cannot hold a PostgreSQL cluster: {reason}; set TMPDIR to another directory (e.g. /tmp)",
        .path.display()
    )]
    UnusableDir { path: PathBuf, reason: String },

    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: io::Error,
    },

    #[error("`{command}` failed ({status}){}", fmt_output(.output))]
    Command {
        command: String,
        status: String,
        output: String,
    },

    #[error(
        "could not start PostgreSQL: `{command}` failed ({status}){}\n--- tail of server \
         log {} ---\n{log_tail}",
        fmt_output(.output),
        .log.display()
    )]
    Start {
        command: String,
        status: String,
        output: String,
        log: PathBuf,
        log_tail: String,
    },

    #[error("termination signal received; not starting a new PostgreSQL cluster")]
    ShuttingDown,

    #[error("invalid database URL `{url}`: {}", error_chain(.source))]
    InvalidUrl {
        url: String,
        #[source]
        source: tokio_postgres::Error,
    },

    #[error("could not connect to {target}: {}", error_chain(.source))]
    Connect {
        target: String,
        #[source]
        source: tokio_postgres::Error,
    },

    #[error("`{sql}` failed on {target}: {}", error_chain(.source))]
    Query {
        sql: String,
        target: String,
        #[source]
        source: tokio_postgres::Error,
    },

    #[error(
        "connecting needs a tokio runtime; call Server::connect from async code running on tokio"
    )]
    NoRuntime,
}

pub(super) fn io_error(context: impl Into<String>) -> impl FnOnce(io::Error) -> PgError {
    let context = context.into();
    move |source| PgError::Io { context, source }
}

fn fmt_output(output: &str) -> String {
    if output.is_empty() {
        String::new()
    } else {
        format!(":\n{output}")
    }
}

/// `tokio_postgres::Error`'s Display is only the kind ("db error"); the
/// useful part (the server's message, the io error) is in its source chain.
pub(super) fn error_chain(error: &tokio_postgres::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

pub(super) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // The protected data stays consistent across a panic (plain pushes and
    // removals), and cleanup must still work after one.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
