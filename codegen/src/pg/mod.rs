//! Database servers for schema introspection: throwaway local clusters and
//! connections to live servers.
//!
//! This module owns the "schema source" server of the pipeline (DESIGN.md,
//! Pipeline > Schema source). It starts and stops ephemeral PostgreSQL clusters
//! from the locally installed server binaries (`initdb`, `pg_ctl`, `postgres`)
//! and connects to an already running server given by URL (`DATABASE_URL`).
//! The rest of the generator only talks to a database through [`Server`].
//!
//! Invariant: an ephemeral cluster is reachable by its owner only. It does not
//! listen on TCP (`listen_addresses = ''`, and its `pg_hba.conf` has `local`
//! lines only); its unix socket lives in a 0700 directory of the server's OS
//! user (this user, or `postgres` when we are root). Trust authentication is
//! therefore only meaningful to that user and root. See docs/security.md.
//!
//! Invariant: a server started here is never left running. A cluster is stopped
//! (`pg_ctl -m immediate`) and its directory deleted when its
//! [`EphemeralCluster`] is dropped, when startup fails half-way, when the
//! process gets SIGINT/SIGTERM/SIGHUP, and at normal process exit (clusters
//! held in statics are never dropped, so an `atexit` hook covers them). Only
//! SIGKILL or a crash can defeat that, so every start also reaps the clusters
//! of processes that no longer exist: only directories this tool created (a
//! real 0700 directory of the server user, no symbolic links anywhere in the
//! layout), and only a postmaster verified to serve that very data directory
//! is ever signalled (see `process::reap_stale`).
//!
//! Layout under [`std::env::temp_dir`]:
//!
//! ```text
//! quarry-pg-cache/<key>/template            initdb'd data dir, built once
//! quarry-pg-cache/<key>/spare-<pid>-<n>      ready copy of it (see `template.rs`)
//! quarry-pg-cache/<key>/filling-<pid>-<n>    spare being copied
//! quarry-pg-<pid>-<n>/                       0700, owned by the server user
//! quarry-pg-<pid>-<n>/owner.pid              id of the creating process
//! quarry-pg-<pid>-<n>/data                   copy of the template (0700)
//! quarry-pg-<pid>-<n>/sock                   private unix socket directory (0700)
//! quarry-pg-<pid>-<n>/server.log             server log
//! ```
//!
//! `<key>` is the sanitised `postgres --version` plus the server's uid, e.g.
//! `postgres-postgresql-15.18-debian-15.18-0-deb12u1-uid101-v2`.
//!
//! PostgreSQL refuses to run as root, so when this process is root the
//! binaries run as the `postgres` system user and everything the server
//! touches is owned by that user.

use std::io;
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard, PoisonError};

mod binaries;
mod cleanup;
mod cluster;
mod process;
mod server;
mod template;
#[cfg(test)]
mod tests;

pub use cluster::EphemeralCluster;
pub use server::Server;

/// Name prefix of cluster directories in the temp dir (the reaper's pattern).
const CLUSTER_PREFIX: &str = "quarry-pg-";

/// Port number of every ephemeral cluster. Nothing listens on TCP: it only
/// names the socket file (`sock/.s.PGSQL.5432`), and each cluster has a
/// socket directory of its own, so they can all use the same number.
const SOCKET_PORT: u16 = 5432;

/// Longest unix socket path the kernel accepts (`sun_path` is 108 bytes
/// with the terminating NUL).
const SUN_PATH_MAX: usize = 107;

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

fn io_error(context: impl Into<String>) -> impl FnOnce(io::Error) -> PgError {
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
fn error_chain(error: &tokio_postgres::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // The protected data stays consistent across a panic (plain pushes and
    // removals), and cleanup must still work after one.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
